"""Read-only database sessions for the widget's hot paths (socket connect, history, availability).

On SQLite the kernel's sessions start with BEGIN IMMEDIATE so writers queue instead of failing; that
also makes every read wait for the write lock, and a burst of widget connects then spends its time in
SQLite's busy back-off. Reads here use a second engine on the same file with plain (deferred)
transactions: under WAL they see the last committed state and never wait for writers. On PostgreSQL
the kernel's session is used as is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from hub import db

_engine: AsyncEngine | None = None
_maker: async_sessionmaker[AsyncSession] | None = None
_url: str | None = None


def _reader_for(url: str) -> async_sessionmaker[AsyncSession]:
    global _engine, _maker, _url
    if _maker is None or _url != url:
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=8, max_overflow=8)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA query_only=ON")
            cur.close()

        _engine, _url = engine, url
        _maker = async_sessionmaker(engine, expire_on_commit=False)
    return _maker


@asynccontextmanager
async def read_scope() -> AsyncIterator[AsyncSession]:
    """A session for reads only; on SQLite it never takes the write lock."""
    main = db.get_engine()
    if main.dialect.name != "sqlite":
        async with db.session_scope() as session:
            yield session
        return
    async with _reader_for(main.url.render_as_string(hide_password=False))() as session:
        yield session


async def close() -> None:
    global _engine, _maker, _url
    if _engine is not None:
        await _engine.dispose()
    _engine = _maker = _url = None
