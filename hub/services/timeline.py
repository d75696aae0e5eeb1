"""Timelines: messages and events of one or more conversations, merged in time order, keyset paginated.

Messages and events are two id-ordered streams (each read through its (conversation_id, id) index); a page
takes up to `limit + 1` rows from each after the cursor and merges them by time. The cursor remembers the
last id emitted from each stream, so the merge continues exactly where the previous page stopped, whatever
the number of rows: no OFFSET, no COUNT.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from sqlalchemy import ColumnElement, select
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


async def page(
    session: AsyncSession,
    *,
    messages: ColumnElement[bool],
    events: ColumnElement[bool],
    cursor: str | None,
    limit: int,
    order: Order,
) -> TimelinePage:
    after_message: int | None = None
    after_event: int | None = None
    if cursor:
        cursor_order, after_message, after_event = cursors.decode(cursor, tuple[str, int | None, int | None])
        if cursor_order != order:
            raise Invalid(f"This cursor belongs to order={cursor_order}; pass the same order or drop the cursor.")
    desc = order == "desc"
    mq = select(Message).where(messages)
    eq = select(Event).where(events)
    if after_message is not None:
        mq = mq.where(Message.id < after_message if desc else Message.id > after_message)
    if after_event is not None:
        eq = eq.where(Event.id < after_event if desc else Event.id > after_event)
    mq = mq.order_by(Message.id.desc() if desc else Message.id).limit(limit + 1)
    eq = eq.order_by(Event.id.desc() if desc else Event.id).limit(limit + 1)
    msgs = list((await session.execute(mq)).scalars())
    evts = list((await session.execute(eq)).scalars())

    merged: list[Message | Event] = []
    i = j = 0
    while len(merged) < limit and (i < len(msgs) or j < len(evts)):
        take_message = j >= len(evts) or (
            i < len(msgs)
            and (msgs[i].created_at >= evts[j].created_at if desc else msgs[i].created_at <= evts[j].created_at)
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
