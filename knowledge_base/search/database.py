"""The embedded default: the database's own full-text search (SQLite FTS5 or PostgreSQL tsvector).

Writes go through the caller's transaction (`upsert_in`, `delete_in`), so an article is searchable
exactly when its publish commits. Reads follow the shared plan in `plan.py`: SQLite in
`sqlite_reader.py` (bm25, trigram vocabulary for typos), PostgreSQL in `postgres_query.py` (idf-weighted
ts_rank, pg_trgm for typos). Both also index titles and descriptions apart, for queries made only of
very common words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from hub.db import get_engine, session_scope
from knowledge_base.search import plan, postgres_query
from knowledge_base.search.base import SearchDoc, SearchHit, document_terms, query_terms
from knowledge_base.search.sqlite_reader import SqliteReader

_UPSERT_DOC = text(
    "INSERT INTO kb_search_docs (article_id, locale, category_id, slug, title, description, body) "
    "VALUES (:article_id, :locale, :category_id, :slug, :title, :description, :body) "
    "ON CONFLICT (article_id) DO UPDATE SET locale = excluded.locale, category_id = excluded.category_id, "
    "slug = excluded.slug, title = excluded.title, description = excluded.description, body = excluded.body"
)
_INSERT_TERM = text("INSERT INTO kb_search_terms (term) VALUES (:term) ON CONFLICT (term) DO NOTHING")

_readers: dict[str, SqliteReader] = {}
_pg_readers: dict[str, AsyncEngine] = {}


def _sqlite_reader() -> SqliteReader | None:
    url = get_engine().url
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    reader = _readers.get(url.database)
    if reader is None:
        reader = _readers[url.database] = SqliteReader(url.database)
    return reader


def _pg_reader() -> AsyncEngine:
    """A small pool for searches: autocommit (no BEGIN/COMMIT round trips), no ping per checkout (a dead
    connection is retried once instead); statements are prepared once per connection by asyncpg."""
    url = get_engine().url
    key = url.render_as_string(hide_password=False)
    engine = _pg_readers.get(key)
    if engine is None:
        engine = create_async_engine(
            url,
            pool_size=5,
            max_overflow=10,
            pool_pre_ping=False,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "server_settings": {
                    # Every search predicate has an index; a sequential scan would decompress every
                    # tsvector, which the planner underestimates for common words.
                    "enable_seqscan": "off",
                    # pg_trgm's default 0.3 misses short transpositions ("refnud"); edit distance filters after.
                    "pg_trgm.similarity_threshold": "0.2",
                }
            },
        )
        _pg_readers[key] = engine
    return engine


async def close_readers() -> None:
    for reader in _readers.values():
        reader.close()
    _readers.clear()
    for engine in _pg_readers.values():
        await engine.dispose()
    _pg_readers.clear()


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
        plan.forget_dfs()

    async def search(
        self, query: str, *, locale: str, category_id: int | None = None, limit: int = 10
    ) -> list[SearchHit]:
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        limit = min(limit, 100)
        reader = _sqlite_reader()
        if reader is not None:
            return await asyncio.to_thread(reader.search, terms, locale, category_id, limit)
        for attempt in (1, 2):
            try:
                async with AsyncSession(_pg_reader()) as session:
                    return await postgres_query.search(session, terms, locale, category_id, limit)
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        return []


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
