"""The embedded default: the database's own full-text search (SQLite FTS5 or PostgreSQL tsvector).

Both dialects share the query plan: words are folded and stopwords dropped, the last word also matches as
a prefix (search-as-you-type), and a word that appears nowhere in the vocabulary is corrected to its
nearest known words (trigram candidates, then an edit-distance check), which are OR-ed in beside it.
SQLite ranks with bm25 (title weighted over description over body); PostgreSQL with ts_rank over a
weighted tsvector, candidates from pg_trgm.

The tables are written in the caller's transaction (`upsert_in`), so an article is searchable exactly
when its publish commits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import is_postgres, session_scope
from knowledge_base.search.base import (
    SearchDoc,
    SearchHit,
    allowed_typos,
    document_terms,
    edit_distance,
    query_terms,
    snippet_of,
)
from knowledge_base.search.synonyms import expansions

_UPSERT_DOC = text(
    "INSERT INTO kb_search_docs (article_id, locale, category_id, slug, title, description, body) "
    "VALUES (:article_id, :locale, :category_id, :slug, :title, :description, :body) "
    "ON CONFLICT (article_id) DO UPDATE SET locale = excluded.locale, category_id = excluded.category_id, "
    "slug = excluded.slug, title = excluded.title, description = excluded.description, body = excluded.body"
)
_INSERT_TERM = text("INSERT INTO kb_search_terms (term) VALUES (:term) ON CONFLICT (term) DO NOTHING")

_SQLITE_SEARCH = """
SELECT d.article_id, d.slug, d.title, d.locale, d.category_id, d.description, substr(d.body, 1, 400),
       bm25(kb_search_fts, 10.0, 4.0, 1.0) AS score
FROM kb_search_fts JOIN kb_search_docs d ON d.article_id = kb_search_fts.rowid
WHERE kb_search_fts MATCH :match AND d.locale = :locale {category}
ORDER BY score LIMIT :limit
"""

_PG_CONFIG = (
    "CASE split_part(CAST(:locale AS text), '-', 1) "
    "WHEN 'en' THEN 'english'::regconfig WHEN 'fr' THEN 'french'::regconfig "
    "WHEN 'de' THEN 'german'::regconfig WHEN 'es' THEN 'spanish'::regconfig "
    "WHEN 'it' THEN 'italian'::regconfig WHEN 'pt' THEN 'portuguese'::regconfig "
    "WHEN 'nl' THEN 'dutch'::regconfig ELSE 'simple'::regconfig END"
)


def _pg_search_sql(groups: int, category: str) -> str:
    """Rank like BM25 does: each query word's ts_rank weighted by its rarity (idf), so a match on a rare
    word outranks repeated common ones. Word tsqueries are bound parameters; only their count varies."""
    queries = ", ".join(f"to_tsquery({_PG_CONFIG}, :g{i}) AS q{i}" for i in range(groups))
    score = " + ".join(f"CAST(:w{i} AS float8) * ts_rank(d.tsv, q{i}, 1)" for i in range(groups))
    columns = "d.article_id, d.slug, d.title, d.locale, d.category_id, d.description, substr(d.body, 1, 400)"
    sources = f"kb_search_docs d, to_tsquery({_PG_CONFIG}, :tsquery) AS q, {queries}"
    where = f"d.tsv @@ q AND d.locale = :locale {category}"
    return f"SELECT {columns}, ({score}) AS score FROM {sources} WHERE {where} ORDER BY score DESC, d.article_id LIMIT :limit"  # noqa: E501, S608


def _pg_df_sql(groups: int) -> str:
    match = "locale = :locale AND tsv @@ to_tsquery({config}, :g{i})"
    counts = ", ".join(
        "(SELECT count(*) FROM kb_search_docs WHERE " + match.format(config=_PG_CONFIG, i=i) + ")"  # noqa: S608
        for i in range(groups)
    )
    return f"SELECT (SELECT count(*) FROM kb_search_docs WHERE locale = :locale), {counts}"  # noqa: S608


class DatabaseSearch:
    """Full-text search in the hub's own database; picks the SQL for the dialect it is connected to."""

    name = "database"

    async def upsert(self, docs: Sequence[SearchDoc]) -> None:
        async with session_scope() as session:
            await self.upsert_in(session, docs)

    async def upsert_in(self, session: AsyncSession, docs: Sequence[SearchDoc]) -> None:
        if not docs:
            return
        await session.execute(_UPSERT_DOC, [_row(doc) for doc in docs])
        terms: set[str] = set()
        for doc in docs:
            terms |= document_terms(doc)
        if terms:
            await session.execute(_INSERT_TERM, [{"term": t} for t in sorted(terms)])

    async def delete(self, article_ids: Sequence[int]) -> None:
        async with session_scope() as session:
            await self.delete_in(session, article_ids)

    async def delete_in(self, session: AsyncSession, article_ids: Sequence[int]) -> None:
        if article_ids:
            await session.execute(
                text("DELETE FROM kb_search_docs WHERE article_id = :id"), [{"id": i} for i in article_ids]
            )

    async def clear(self) -> None:
        async with session_scope() as session:
            await session.execute(text("DELETE FROM kb_search_docs"))

    async def search(
        self, query: str, *, locale: str, category_id: int | None = None, limit: int = 10
    ) -> list[SearchHit]:
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        async with session_scope() as session:
            pg = is_postgres(session)
            corrections = await self._corrections(session, terms, pg)
            params: dict[str, Any] = {"locale": locale, "limit": min(limit, 100)}
            category = ""
            if category_id is not None:
                category = "AND d.category_id = :category_id"
                params["category_id"] = category_id
            if pg:
                groups = _pg_groups(terms, corrections)
                params["tsquery"] = " | ".join(groups)
                params.update({f"g{i}": g for i, g in enumerate(groups)})
                counts = (await session.execute(text(_pg_df_sql(len(groups))), params)).one()
                total = max(int(counts[0]), 1)
                for i, df in enumerate(counts[1:]):
                    params[f"w{i}"] = math.log(1 + (total - df + 0.5) / (df + 0.5))
                sql = _pg_search_sql(len(groups), category)
            else:
                params["match"] = _fts5_match(terms, corrections)
                sql = _SQLITE_SEARCH.format(category=category)
            rows = (await session.execute(text(sql), params)).all()
        return [
            SearchHit(
                article_id=int(r[0]),
                slug=r[1],
                title=r[2],
                locale=r[3],
                category_id=r[4],
                snippet=snippet_of(r[5], r[6]),
                score=float(r[7]) if pg else -float(r[7]),
            )
            for r in rows
        ]

    async def _corrections(self, session: AsyncSession, terms: list[str], pg: bool) -> dict[str, list[str]]:
        """Known words near each query word that is itself unknown (neither a word nor a word's prefix)."""
        out: dict[str, list[str]] = {}
        for term in terms:
            budget = allowed_typos(term)
            if budget == 0 or await _known(session, term, pg):
                continue
            candidates = await _candidates(session, term, pg)
            scored = []
            for cand in candidates:
                distance = edit_distance(term, cand, budget)
                # A partial word being typed: compare with the candidate's beginning too.
                if len(cand) > len(term):
                    distance = min(distance, edit_distance(term, cand[: len(term)], budget) + 0)
                if distance <= budget:
                    scored.append((distance, abs(len(cand) - len(term)), cand))
            scored.sort()
            if scored:
                out[term] = [c for _, _, c in scored[:3]]
        return out


def _row(doc: SearchDoc) -> dict[str, Any]:
    return {
        "article_id": doc.article_id,
        "locale": doc.locale,
        "category_id": doc.category_id,
        "slug": doc.slug,
        "title": doc.title,
        "description": doc.description,
        "body": doc.body,
    }


async def _known(session: AsyncSession, term: str, pg: bool) -> bool:
    """Is the word in the vocabulary, or the start of a word in it? (Stemmed forms such as "deliveries"
    for "delivery" still match without correction because the index stems them.)"""
    collate = ' COLLATE "C"' if pg else ""
    sql = f"SELECT 1 FROM kb_search_terms WHERE term{collate} >= :lo AND term{collate} < :hi LIMIT 1"  # noqa: S608
    return (await session.execute(text(sql), {"lo": term, "hi": term + "\uffff"})).first() is not None


async def _candidates(session: AsyncSession, term: str, pg: bool) -> list[str]:
    if pg:
        # pg_trgm's default 0.3 misses short transpositions ("refnud"); the edit-distance check filters after.
        await session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)"))
        sql = "SELECT term FROM kb_search_terms WHERE term % :term ORDER BY similarity(term, :term) DESC, term LIMIT 40"
        return list((await session.execute(text(sql), {"term": term})).scalars())
    grams = {term[i : i + 3] for i in range(len(term) - 2)}
    if not grams:
        return []
    match = " OR ".join(f'"{g}"' for g in sorted(grams))
    sql = "SELECT term FROM kb_search_terms_tri WHERE kb_search_terms_tri MATCH :match ORDER BY rank LIMIT 60"
    return list((await session.execute(text(sql), {"match": match})).scalars())


def _fts5_match(terms: list[str], corrections: dict[str, list[str]]) -> str:
    """An FTS5 query: each word OR its corrections and synonyms, the last word also as a prefix (it may be
    half-typed); words OR-ed so bm25 ranks by coverage.
    Words are \\w+ only and double-quoted, so no user text can reach FTS5's query syntax."""
    groups = []
    for i, term in enumerate(terms):
        prefix = i == len(terms) - 1 and len(term) >= 2  # only the word being typed is a prefix
        alternatives = [f'"{term}"*' if prefix else f'"{term}"']
        alternatives += [f'"{c}"' for c in corrections.get(term, [])]
        alternatives += [f'"{s}"' for s in expansions(term)]
        groups.append(alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")")
    return " OR ".join(groups)


def _pg_groups(terms: list[str], corrections: dict[str, list[str]]) -> list[str]:
    """One tsquery per query word: the word (the last one as a prefix), OR its corrections and synonyms."""
    groups = []
    for i, term in enumerate(terms):
        word = f"{term}:*" if i == len(terms) - 1 else term  # only the word being typed is a prefix
        alternatives = [word] + [c for c in corrections.get(term, [])] + list(expansions(term))
        groups.append(alternatives[0] if len(alternatives) == 1 else "(" + " | ".join(alternatives) + ")")
    return groups
