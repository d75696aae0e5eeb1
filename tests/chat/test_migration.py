"""The chat migration builds exactly what the model declares (on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from channels.chat.models import ChatVisitor
from hub.db import Base, get_engine


async def test_chat_visitors_table_matches_the_model(client: Any) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        changes = compare_metadata(context, Base.metadata)
        return [c for c in changes if ChatVisitor.__tablename__ in repr(c)]

    async with get_engine().connect() as conn:
        assert await conn.run_sync(diff) == []
