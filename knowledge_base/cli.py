"""`hub kb reindex`: rebuild the search indexes from the published articles."""

from __future__ import annotations

import asyncio

import typer

cli = typer.Typer(help="Knowledge base: search index maintenance.", no_args_is_help=True)


@cli.command()
def reindex() -> None:
    """Rebuild the database's full-text tables and, with MEILISEARCH_URL set, the Meilisearch index."""
    from hub.cli import _migrate, _settings

    settings = _settings()
    _migrate(settings)
    count = asyncio.run(_reindex(settings.effective_database_url))
    typer.echo(f"Reindexed {count} published articles.")


async def _reindex(url: str) -> int:
    from hub import db
    from knowledge_base.search import get_backend, set_backend
    from knowledge_base.service import reindex as rebuild

    db.init_engine(url)
    backend = get_backend()
    try:
        return await rebuild()
    finally:
        if hasattr(backend, "aclose"):
            await backend.aclose()
        set_backend(None)
        await db.dispose_engine()
