"""The inbox's migration builds exactly what its model declares (on SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.db import Base, get_engine
from web.inbox.models import ReadMark


async def test_read_marks_table_matches_the_model(client):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        changes = compare_metadata(context, Base.metadata)
        return [c for c in changes if ReadMark.__tablename__ in repr(c)]

    async with get_engine().connect() as conn:
        assert await conn.run_sync(diff) == []
