"""PostgreSQL search: a weighted tsvector (title A, description B, body D) with GIN indexes, ranked with
ts_rank with each word weighted by its idf (the BM25 idea), typo candidates from pg_trgm."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge_base.search import plan
from knowledge_base.search.base import SearchHit, allowed_typos, snippet_of

CONFIG = (
    "CASE split_part(CAST(:locale AS text), '-', 1) "
    "WHEN 'en' THEN 'english'::regconfig WHEN 'fr' THEN 'french'::regconfig "
    "WHEN 'de' THEN 'german'::regconfig WHEN 'es' THEN 'spanish'::regconfig "
    "WHEN 'it' THEN 'italian'::regconfig WHEN 'pt' THEN 'portuguese'::regconfig "
    "WHEN 'nl' THEN 'dutch'::regconfig ELSE 'simple'::regconfig END"
)
_DF = {
    col: text(f"SELECT count(*) FROM kb_search_docs WHERE locale = :locale AND {col} @@ to_tsquery({CONFIG}, :q)")  # noqa: S608
    for col in ("tsv", "tsv_head")
}
_TOTAL = text("SELECT count(*) FROM kb_search_docs WHERE locale = :locale")


def _search_sql(groups: int, category: str, column: str) -> str:
    """Word tsqueries are bound parameters; only their number varies. The candidates are ranked in a CTE so
    each row's tsvector is read once, then scored per word."""
    queries = ", ".join(f"to_tsquery({CONFIG}, :g{i}) AS q{i}" for i in range(groups))
    score = " + ".join(f"CAST(:w{i} AS float8) * ts_rank(c.v, q{i}, 1)" for i in range(groups))
    return f"""
WITH c AS MATERIALIZED (
  SELECT d.article_id, d.{column} AS v FROM kb_search_docs d
  WHERE d.{column} @@ to_tsquery({CONFIG}, :drivers) AND d.locale = :locale {category}
), ranked AS (
  SELECT c.article_id, ({score}) AS score FROM c, {queries}
  ORDER BY score DESC, c.article_id LIMIT :limit
)
SELECT d.article_id, d.slug, d.title, d.locale, d.category_id, d.description, substr(d.body, 1, 400), r.score
FROM ranked r JOIN kb_search_docs d ON d.article_id = r.article_id
ORDER BY r.score DESC, d.article_id
"""  # noqa: S608


async def search(
    session: AsyncSession, terms: list[str], locale: str, category_id: int | None, limit: int
) -> list[SearchHit]:
    corrections = await _corrections(session, terms)
    groups = [_group(t, p, o) for t, p, o in plan.alternatives(terms, corrections)]
    dfs = [await _df(session, g, locale, "tsv") for g in groups]
    chosen, crowded = plan.drivers(dfs)
    if not chosen:
        return []
    params: dict[str, Any] = {"locale": locale, "limit": limit}
    category = ""
    if category_id is not None:
        category = "AND d.category_id = :category_id"
        params["category_id"] = category_id
    total = max(await _df(session, "*total*", locale, "tsv"), 1)
    for i, (group, df) in enumerate(zip(groups, dfs, strict=True)):
        params[f"g{i}"] = group
        params[f"w{i}"] = plan.idf(total, df)
    rows: list[Any] = []
    if crowded:
        params["drivers"] = " | ".join(groups)
        rows = list((await session.execute(text(_search_sql(len(groups), category, "tsv_head")), params)).all())
    if len(rows) < limit:
        params["drivers"] = " | ".join(groups[i] for i in chosen)
        found = (await session.execute(text(_search_sql(len(groups), category, "tsv")), params)).all()
        seen = {r[0] for r in rows}
        rows += [r for r in found if r[0] not in seen][: limit - len(rows)]
    return [
        SearchHit(
            article_id=int(r[0]),
            slug=r[1],
            title=r[2],
            locale=r[3],
            category_id=r[4],
            snippet=snippet_of(r[5], r[6]),
            score=float(r[7]),
        )
        for r in rows
    ]


async def _df(session: AsyncSession, group: str, locale: str, column: str) -> int:
    key = (str(getattr(session.bind, "url", "")), locale, group)
    count = plan.cached_df(key)
    if count is None:
        if group == "*total*":
            count = int((await session.execute(_TOTAL, {"locale": locale})).scalar_one())
        else:
            count = int((await session.execute(_DF[column], {"q": group, "locale": locale})).scalar_one())
        plan.remember_df(key, count)
    return count


async def _corrections(session: AsyncSession, terms: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for term in terms:
        if allowed_typos(term) == 0:
            continue
        known = await session.execute(
            text('SELECT 1 FROM kb_search_terms WHERE term COLLATE "C" >= :lo AND term COLLATE "C" < :hi LIMIT 1'),
            {"lo": term, "hi": term + "\uffff"},
        )
        if known.first() is not None:
            continue
        # pg_trgm's default 0.3 misses short transpositions ("refnud"); the edit-distance check filters after.
        await session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)"))
        candidates = await session.execute(
            text(
                "SELECT term FROM kb_search_terms WHERE term % :term "
                "ORDER BY similarity(term, :term) DESC, term LIMIT 40"
            ),
            {"term": term},
        )
        best = plan.best_corrections(term, list(candidates.scalars()))
        if best:
            out[term] = best
    return out


def _group(term: str, prefix: bool, others: list[str]) -> str:
    """A tsquery for one word; words are \\w+ only, so they cannot carry tsquery operators."""
    parts = [f"{term}:*" if prefix else term, *others]
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"
