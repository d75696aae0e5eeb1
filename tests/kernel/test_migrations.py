"""`alembic upgrade head` on a fresh database gives exactly the tables the models describe, on both stacks."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.db import Base, make_engine
from hub.packages import import_all_models

# Search structures the knowledge base builds with raw SQL (FTS5 tables, tsvector/trigram indexes).
RAW_SQL_OBJECTS = ("fts", "vocab", "tsv", "trgm", "kb_search_terms_tri", "ix_kb_search_terms_c")


def _meaningful(diff: Any) -> bool:
    return not any(word in repr(diff) for word in RAW_SQL_OBJECTS)


async def test_head_matches_the_models(stack):
    """The stack fixture ran `upgrade head` on a fresh database; autogenerate must find nothing to do."""
    import_all_models()
    engine = make_engine(stack.settings.effective_database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
    finally:
        await engine.dispose()
    assert [d for d in diff if _meaningful(d)] == []
