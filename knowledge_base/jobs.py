"""Background sync to the external search index (Meilisearch). The database is the source of truth:
the job reads the article's current state, so retries and reordering converge on the right document."""

from __future__ import annotations

from hub.db import session_scope
from hub.jobs import job
from knowledge_base.search import external_backend


@job("kb.meili_sync", retries=10, backoff_seconds=2.0)
async def meili_sync(article_id: int) -> None:
    from knowledge_base.service import search_doc

    backend = external_backend()
    if backend is None:
        return
    async with session_scope() as session:
        doc = await search_doc(session, article_id)
    if doc is None:
        await backend.delete([article_id])
    else:
        await backend.upsert([doc])
