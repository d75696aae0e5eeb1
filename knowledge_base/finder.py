"""Searching as readers and agents do it: the configured backend, plus a record of searches that found
nothing (the `kb_search_misses` report tells managers which articles to write next)."""

from __future__ import annotations

import logging

from sqlalchemy import desc, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.db import is_postgres, session_scope, utcnow
from hub.models import Conversation, Message
from knowledge_base.models import KbSearchMiss
from knowledge_base.schemas import MissOut
from knowledge_base.search import SearchHit, database_backend, get_backend
from knowledge_base.search.base import normalise_query, query_terms

log = logging.getLogger("knowledge_base.search")

SOURCES = ("help", "widget", "agent", "api")


async def search(
    query: str,
    *,
    locale: str,
    category_id: int | None = None,
    limit: int = 10,
    source: str | None = None,
) -> list[SearchHit]:
    """Search the configured backend; if Meilisearch is down, answer from the database rather than fail.
    With `source` set, a search that finds nothing is counted as a miss."""
    backend = get_backend()
    try:
        hits = await backend.search(query, locale=locale, category_id=category_id, limit=limit)
    except Exception:
        if backend is database_backend():
            raise
        log.exception("search backend %s failed; answering from the database", backend.name)
        hits = await database_backend().search(query, locale=locale, category_id=category_id, limit=limit)
    if not hits and source and query_terms(query):
        await record_miss(query, locale, source)
    return hits


async def record_miss(query: str, locale: str, source: str) -> None:
    normalised = normalise_query(query)
    if not normalised:
        return
    now = utcnow()
    async with session_scope() as session:
        insert = pg_insert if is_postgres(session) else sqlite_insert
        stmt = insert(KbSearchMiss).values(
            query=normalised, locale=locale, source=source, count=1, first_seen_at=now, last_seen_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["query", "locale", "source"],
            set_={"count": KbSearchMiss.count + 1, "last_seen_at": now},
        )
        await session.execute(stmt)


async def list_misses(*, locale: str | None = None, source: str | None = None, limit: int = 100) -> list[MissOut]:
    async with session_scope() as session:
        query = select(KbSearchMiss).order_by(desc(KbSearchMiss.count), desc(KbSearchMiss.last_seen_at)).limit(limit)
        if locale:
            query = query.where(KbSearchMiss.locale == locale)
        if source:
            query = query.where(KbSearchMiss.source == source)
        rows = (await session.execute(query)).scalars()
        return [
            MissOut(
                query=m.query,
                locale=m.locale,
                source=m.source,
                count=m.count,
                first_seen_at=m.first_seen_at,
                last_seen_at=m.last_seen_at,
            )
            for m in rows
        ]


class ConversationNotVisible(LookupError):
    pass


async def conversation_query(session: AsyncSession, principal: Principal, conversation_id: int) -> str:
    """The words a conversation is about: its subject and the customer's latest messages."""
    conversation = await session.get(Conversation, conversation_id) if 0 < conversation_id < 2**63 else None
    if conversation is None or not principal.can_see_inbox(conversation.inbox_id):
        raise ConversationNotVisible(conversation_id)
    texts = (
        await session.execute(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.direction == "in")
            .order_by(Message.id.desc())
            .limit(3)
        )
    ).scalars()
    parts = [conversation.subject or ""] + [t[:500] for t in texts]
    return " ".join(p for p in parts if p)


async def suggest_for_conversation(
    principal: Principal, conversation_id: int, *, locale: str, limit: int = 5
) -> tuple[str, list[SearchHit]]:
    async with session_scope() as session:
        query = await conversation_query(session, principal, conversation_id)
    if not query_terms(query):
        return query, []
    return query, await search(query, locale=locale, limit=limit)
