"""The knowledge base: categories and articles (drafts, published versions, locales), search behind one
interface (database full-text by default, Meilisearch with MEILISEARCH_URL), suggestions for the widget
and the agent inbox, and the reports on what readers searched for and did not find.

The public help center pages live in `web.help`; they read through `knowledge_base.public`.
"""

from __future__ import annotations

from hub.extension import Extension
from knowledge_base.api import ROUTES
from knowledge_base.cli import cli


def _setup() -> None:
    import knowledge_base.jobs  # noqa: F401  (registers kb.meili_sync)


async def _startup() -> None:
    from knowledge_base.search import external_backend

    backend = external_backend()
    if backend is not None and hasattr(backend, "ensure_index"):
        import logging

        try:
            await backend.ensure_index()
        except Exception:
            logging.getLogger("knowledge_base").exception(
                "Meilisearch did not accept the index settings; search falls back to the database until it does"
            )


async def _shutdown() -> None:
    from knowledge_base import ratelimit
    from knowledge_base.search import get_backend, set_backend
    from knowledge_base.search.database import close_readers

    backend = get_backend()
    if hasattr(backend, "aclose"):
        await backend.aclose()
    set_backend(None)
    await close_readers()
    await ratelimit.close()


extension = Extension(
    name="kb",
    route_handlers=ROUTES,
    setup=_setup,
    on_startup=[_startup],
    on_shutdown=[_shutdown],
    cli=cli,
)
