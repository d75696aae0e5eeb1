"""STOP / START: carriers require that a number which texted STOP gets nothing more until it texts START.

The state lives in the database (not in a process) so every web and worker process honours it.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from channels.sms.models import SmsOptOut
from hub.db import session_scope
from hub.locks import lock_key, xact_lock
from hub.models import Event

OPTED_OUT_REASON = "the customer replied STOP; they must text START before we can message them"


async def record_keyword(
    *,
    inbox_id: int,
    phone: str,
    word: str,
    stop: bool,
    contact_id: int | None = None,
    conversation_id: int | None = None,
    source: str = "customer",
) -> bool:
    """Opt `phone` out (stop) or back in; returns True when the state changed (then an Event is recorded)."""
    async with session_scope() as session:
        await xact_lock(session, lock_key("sms-optout", inbox_id, phone))
        row = (
            await session.execute(select(SmsOptOut).where(SmsOptOut.inbox_id == inbox_id, SmsOptOut.phone == phone))
        ).scalar_one_or_none()
        if stop and row is None:
            session.add(SmsOptOut(inbox_id=inbox_id, phone=phone, keyword=word[:32]))
        elif not stop and row is not None:
            await session.execute(delete(SmsOptOut).where(SmsOptOut.id == row.id))
        else:
            return False
        session.add(
            Event(
                kind="sms.opted_out" if stop else "sms.opted_in",
                conversation_id=conversation_id,
                contact_id=contact_id,
                inbox_id=inbox_id,
                actor_kind="contact" if source == "customer" else "system",
                actor_id=contact_id if source == "customer" else None,
                data={"phone": phone, "keyword": word, "source": source},
            )
        )
    return True


async def is_opted_out(inbox_id: int, phone: str) -> bool:
    async with session_scope() as session:
        found = (
            await session.execute(
                select(SmsOptOut.id).where(SmsOptOut.inbox_id == inbox_id, SmsOptOut.phone == phone).limit(1)
            )
        ).first()
    return found is not None
