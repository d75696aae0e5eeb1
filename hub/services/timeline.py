"""Timelines: messages and events of one or more conversations, merged in time order, keyset paginated.

Messages and events are two id-ordered streams (each read through its (conversation_id, id) index); a page
takes up to `limit + 1` rows from each after the cursor and merges them by time. The cursor remembers the
last id emitted from each stream, so the merge continues exactly where the previous page stopped, whatever
the number of rows: no OFFSET, no COUNT.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from sqlalchemy import ColumnElement, and_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Attachment, Event, Message
from hub.schemas import AttachmentOut, EventOut, MessageOut, event_out, message_out
from hub.services import cursors
from hub.services.errors import Invalid

Order = Literal["asc", "desc"]


class TimelinePage(msgspec.Struct):
    """`items` hold messages (`type` "message") and events (`type` "event"); follow `next_cursor` for more."""

    items: list[MessageOut | EventOut]
    next_cursor: str | None


async def attachments_for(session: AsyncSession, message_ids: list[int]) -> dict[int, list[AttachmentOut]]:
    if not message_ids:
        return {}
    rows = await session.execute(
        select(Attachment.id, Attachment.message_id, Attachment.filename, Attachment.content_type, Attachment.size)
        .where(Attachment.message_id.in_(message_ids))
        .order_by(Attachment.id)
    )
    found: dict[int, list[AttachmentOut]] = {}
    for att_id, message_id, filename, content_type, size in rows:
        found.setdefault(message_id, []).append(
            AttachmentOut(att_id, filename, content_type, size, f"/api/v1/attachments/{att_id}")
        )
    return found


async def _rows(
    session: AsyncSession, model: Any, keys: list[ColumnElement[bool]], bound: int | None, desc: bool, limit: int
) -> list[Any]:
    """The first `limit` rows after `bound` across `keys`, each key read as one index range.

    A contact's timeline spans several conversations: one range per conversation (UNION ALL) keeps every
    read on the (conversation_id, id) index instead of letting the planner walk the whole table by id."""
    if not keys:
        return []
    order = model.id.desc() if desc else model.id
    after = [] if bound is None else [model.id < bound if desc else model.id > bound]
    if len(keys) == 1:
        query = select(model).where(keys[0], *after).order_by(order).limit(limit)
    else:
        ranges = [
            select(sub.c.id)
            for sub in (select(model.id).where(k, *after).order_by(order).limit(limit).subquery() for k in keys)
        ]
        query = select(model).where(model.id.in_(union_all(*ranges))).order_by(order).limit(limit)
    return list((await session.execute(query)).scalars())


async def page(
    session: AsyncSession,
    *,
    conversation_ids: list[int],
    contact_id: int | None = None,
    cursor: str | None,
    limit: int,
    order: Order,
) -> TimelinePage:
    """`contact_id` adds the contact's own events (merges, edits) that belong to no conversation."""
    after_message: int | None = None
    after_event: int | None = None
    if cursor:
        cursor_order, after_message, after_event = cursors.decode(
            cursor, tuple[str, cursors.Id | None, cursors.Id | None]
        )
        if cursor_order != order:
            raise Invalid(f"This cursor belongs to order={cursor_order}; pass the same order or drop the cursor.")
    desc = order == "desc"
    message_keys: list[ColumnElement[bool]] = [Message.conversation_id == c for c in conversation_ids]
    event_keys: list[ColumnElement[bool]] = [Event.conversation_id == c for c in conversation_ids]
    if contact_id is not None:
        event_keys.append(and_(Event.contact_id == contact_id, Event.conversation_id.is_(None)))
    msgs: list[Message] = await _rows(session, Message, message_keys, after_message, desc, limit + 1)
    evts: list[Event] = await _rows(session, Event, event_keys, after_event, desc, limit + 1)

    # On equal times a message comes before an event in time order (the message that opened a conversation
    # precedes "conversation.created"), so both orders list ties the same way, mirrored.
    merged: list[Message | Event] = []
    i = j = 0
    while len(merged) < limit and (i < len(msgs) or j < len(evts)):
        take_message = j >= len(evts) or (
            i < len(msgs)
            and (msgs[i].created_at > evts[j].created_at if desc else msgs[i].created_at <= evts[j].created_at)
        )
        if take_message:
            merged.append(msgs[i])
            after_message = msgs[i].id
            i += 1
        else:
            merged.append(evts[j])
            after_event = evts[j].id
            j += 1
    more = i < len(msgs) or j < len(evts)
    files = await attachments_for(session, [m.id for m in merged if isinstance(m, Message)])
    items: list[MessageOut | EventOut] = [
        message_out(row, files.get(row.id)) if isinstance(row, Message) else event_out(row) for row in merged
    ]
    return TimelinePage(items=items, next_cursor=cursors.encode(order, after_message, after_event) if more else None)
