"""Twilio status callbacks move a sent reply along sent -> delivered (or failed), never backwards."""

from __future__ import annotations

import logging

from sqlalchemy import or_, select

from channels.sms.optout import record_keyword
from channels.sms.parse import error_text
from hub.db import session_scope
from hub.dispatch import STATUS_RANK, set_delivery_status
from hub.models import Message
from hub.outbound import InboxConfig

log = logging.getLogger("channels.sms")


async def apply_status(
    inbox: InboxConfig, sid: str, status: str | None, code: str | None, hint: int | None = None
) -> bool:
    """Returns True when the message's status changed."""
    if status is None:
        return False
    # A callback may overtake the sender's own bookkeeping; the kernel never moves a status backwards.
    return await _apply(inbox, sid, status, code, await _find(inbox, sid, hint))


async def _find(inbox: InboxConfig, sid: str, hint: int | None) -> Message | None:
    async with session_scope() as session:
        query = select(Message)
        row = (
            await session.execute(
                query.where(Message.inbox_id == inbox.id, Message.provider_id == sid, Message.direction == "out")
            )
        ).first()
        if row is None and hint is not None:
            row = (
                await session.execute(
                    query.where(
                        Message.id == hint,
                        Message.inbox_id == inbox.id,
                        Message.direction == "out",
                        or_(Message.provider_id.is_(None), Message.provider_id == sid),
                    )
                )
            ).first()
    return row[0] if row is not None else None


async def _apply(inbox: InboxConfig, sid: str, status: str, code: str | None, message: Message | None) -> bool:
    if message is None:
        log.info("status %s for unknown message %s on inbox %s ignored", status, sid, inbox.id)
        return False
    current = message.status
    to = str((message.meta or {}).get("to") or "")
    if status == "failed":
        if current in ("failed", "delivered", "read"):
            return False
        if code == "21610" and to:
            await record_keyword(inbox_id=inbox.id, phone=to, word="STOP", stop=True, source="twilio")
        await set_delivery_status(
            message.id, status="failed", error=error_text(code), code=code, provider_id=sid, meta={"twilio_error": code}
        )
        return True
    if current == "failed" or STATUS_RANK.get(status, 0) <= STATUS_RANK.get(current, 0):
        return False
    await set_delivery_status(message.id, status=status, provider_id=sid)
    return True
