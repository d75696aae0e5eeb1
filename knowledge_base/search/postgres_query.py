"""PostgreSQL search: a weighted tsvector (title A, description B, body D) with GIN indexes, ranked with
ts_rank per word, saturated (normalisation 32: rank / (rank + 1), like BM25's term-frequency curve) and
weighted by the word's idf, so rare words count most; typo candidates from pg_trgm."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge_base.search import plan
from knowledge_base.search.base import SearchHit, allowed_typos, hit_of

CONFIGS = {
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
}  # must match the generated tsvector columns in the 0005 migration
CONFIG = "CAST(:cfg AS regconfig)"


def config_for(locale: str) -> str:
    return CONFIGS.get(locale.split("-", 1)[0], "simple")


def _search_sql(groups: int, category: str, column: str, capped: bool, dense: bool = False) -> str:
    """Word tsqueries are bound parameters; only their number varies. The candidates' tsquery is inline so
    the planner sees its selectivity (and uses the GIN index). Candidates are collected in a CTE so
    each row's tsvector is read once, then scored per word. When every word is common (`capped`), only
    the newest `CROWDED_CANDIDATES` matches are scored, which bounds the work."""
    queries = ", ".join(f"to_tsquery({CONFIG}, :g{i}) AS q{i}" for i in range(groups))
    score = " + ".join(f"CAST(:w{i} AS float8) * ts_rank(c.v, q{i}, 32)" for i in range(groups))
    # `article_id + 0`: take the newest matches from the GIN bitmap, never by walking the primary key
    # backwards through rows that do not match (which a misestimated prefix query can make very slow).
    # `dense`: the word is in a large share of all rows, so walking the newest rows finds enough at once.
    order = "d.article_id DESC" if dense else "d.article_id + 0 DESC"
    focus = f"ORDER BY {order} LIMIT {plan.CROWDED_CANDIDATES}" if capped else ""
    candidates = f"kb_search_docs d WHERE d.{column} @@ to_tsquery({CONFIG}, :drivers)"
    return f"""
WITH c AS MATERIALIZED (
  SELECT d.article_id, d.{column} AS v FROM {candidates} AND d.locale = :locale {category} {focus}
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
    dfs = await _dfs(session, [*groups, "*total*"], locale)
    total = max(dfs.pop(), 1)
    chosen, crowded = plan.drivers(dfs)
    if not chosen:
        return []
    params: dict[str, Any] = {"locale": locale, "limit": limit, "cfg": config_for(locale)}
    category = ""
    if category_id is not None:
        category = "AND d.category_id = :category_id"
        params["category_id"] = category_id
    for i, (group, df) in enumerate(zip(groups, dfs, strict=True)):
        params[f"g{i}"] = group
        params[f"w{i}"] = plan.idf(total, df)
    rows: list[Any] = []
    if crowded:
        params["drivers"] = " | ".join(groups[i] for i in chosen)
        rows = list((await session.execute(text(_search_sql(len(groups), category, "tsv_head", True)), params)).all())
    # Crowded: titles and descriptions answered; reading the bodies of thousands of rows would not help.
    if not rows:
        params["drivers"] = " | ".join(groups[i] for i in chosen)
        dense = crowded and min(dfs[i] for i in chosen) >= total * plan.DENSE_SHARE
        sql = _search_sql(len(groups), category, "tsv", crowded, dense)
        found = (await session.execute(text(sql), params)).all()
        rows = list(found)
    return [hit_of(r, float(r[7])) for r in rows]


async def _dfs(session: AsyncSession, groups: list[str], locale: str) -> list[int]:
    """Document counts per group (and the total for "*total*"), uncached ones in one round trip.
    Counts stop at DF_CAP: past it a word is common and that is all candidate selection and idf need.
    They span locales (like SQLite's) so that, on vacuumed pages, the bitmap scan need not read the rows."""
    url = str(getattr(session.bind, "url", ""))
    counts = [plan.cached_df((url, locale, g)) for g in groups]
    missing = [i for i, c in enumerate(counts) if c is None]
    if missing:
        params: dict[str, Any] = {"locale": locale, "cfg": config_for(locale)}
        parts = []
        for n, i in enumerate(missing):
            if groups[i] == "*total*":
                parts.append("(SELECT count(*) FROM kb_search_docs)")
            else:
                params[f"q{n}"] = groups[i]
                parts.append(
                    f"(SELECT count(*) FROM (SELECT 1 FROM to_tsquery({CONFIG}, :q{n}) AS q, kb_search_docs "  # noqa: S608
                    f"WHERE tsv @@ q LIMIT {plan.DF_CAP}) AS m)"
                )
        row = (await session.execute(text("SELECT " + ", ".join(parts)), params)).one()
        for n, i in enumerate(missing):
            counts[i] = int(row[n])
            plan.remember_df((url, locale, groups[i]), int(row[n]))
    return [int(c or 0) for c in counts]


async def _corrections(session: AsyncSession, terms: list[str]) -> dict[str, list[str]]:
    url = str(getattr(session.bind, "url", ""))
    out: dict[str, list[str]] = {}
    todo = []
    for term in terms:
        if allowed_typos(term) == 0:
            continue
        cached = plan.cached_corrections((url, term))
        if cached is None:
            todo.append(term)
        elif cached:
            out[term] = cached
    if not todo:
        return out
    known = set(
        (
            await session.execute(
                text(
                    "SELECT t FROM unnest(CAST(:terms AS text[])) AS t WHERE EXISTS (SELECT 1 FROM kb_search_terms "
                    'WHERE term COLLATE "C" >= t COLLATE "C" AND term COLLATE "C" < (t || chr(65535)) COLLATE "C")'
                ),
                {"terms": todo},
            )
        ).scalars()
    )
    for term in todo:
        best: list[str] = []
        if term not in known:
            candidates = await session.execute(
                text(
                    "SELECT term FROM kb_search_terms WHERE term % :term "
                    "ORDER BY similarity(term, :term) DESC, term LIMIT 40"
                ),
                {"term": term},
            )
            best = plan.best_corrections(term, list(candidates.scalars()))
        plan.remember_corrections((url, term), best)
        if best:
            out[term] = best
    return out


def _group(term: str, prefix: bool, others: list[str]) -> str:
    """A tsquery for one word; words are \\w+ only, so they cannot carry tsquery operators."""
    parts = [f"{term}:*" if prefix else term, *others]
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"
