"""Outbound: an agent's reply is stored as queued (committed) before any network call, then delivered
by a job through the channel's sender, with retries and backoff.

Delivery claims a message with a conditional UPDATE, so two runners (a retry and a sweep) never send the
same message at once; the channel gets a stable idempotency key so a provider that deduplicates never
sees it twice even if a worker dies after sending and before recording it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from hub import events, extension
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.inbound import Identity
from hub.inboxes import config_of
from hub.jobs import enqueue, job, sweeper
from hub.models import Attachment, ContactIdentity, Conversation, Inbox, Message, User
from hub.outbound import DeliveryError, OutboundAttachment, OutboundMessage
from hub.schemas import message_out

log = logging.getLogger("hub.dispatch")
DELIVER = "hub.deliver"
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)


# Forward-only order of the delivery lifecycle; "failed" may follow anything but a confirmed delivery.
STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}


def configure(*, lease_seconds: int) -> None:
    global LEASE
    LEASE = timedelta(seconds=lease_seconds)


async def queue_outbound(
    session: AsyncSession,
    conversation: Conversation,
    *,
    text: str,
    html: str | None = None,
    author_kind: str = "agent",
    author_id: int | None = None,
    private: bool = False,
    meta: dict[str, Any] | None = None,
) -> Message:
    """Store a reply (queued) or a private note (direction note). The caller commits, then calls
    `after_commit` with the returned message so delivery starts only once the row is durable."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        direction="note" if private else "out",
        author_kind=author_kind,
        author_id=author_id,
        text=text,
        html=html,
        status="sent" if private else "queued",
        meta=meta or {},
        created_at=now,
        updated_at=now,
        next_attempt_at=None if private else now,
    )
    session.add(message)
    if not private:
        conversation.last_activity_at = now
        conversation.last_message_preview = text[:280]
        if author_kind == "agent" and conversation.first_response_at is None:
            conversation.first_response_at = now
        if author_kind == "agent":
            conversation.waiting_since = None
    conversation.message_count += 1
    conversation.updated_at = now
    await session.flush()
    return message


async def after_commit(message: Message, conversation: Conversation) -> None:
    payload = msgspec.to_builtins(message_out(message))
    base = {
        "inbox_id": conversation.inbox_id,
        "conversation_id": conversation.id,
        "contact_id": conversation.contact_id,
    }
    await events.emit(DomainEvent(name="message.created", data=payload, user_id=message.author_id, **base))
    if message.direction == "out":
        await enqueue(DELIVER, key=str(message.id), message_id=message.id)


@job(DELIVER, retries=MAX_ATTEMPTS, backoff_seconds=2.0, timeout_seconds=60.0)
async def deliver(message_id: int) -> None:
    now = utcnow()
    async with session_scope() as session:
        claimed = (
            await session.execute(
                update(Message)
                .where(
                    Message.id == message_id,
                    Message.direction == "out",
                    or_(
                        Message.status == "queued",
                        (Message.status == "sending") & (Message.next_attempt_at < now),
                    ),
                )
                .values(status="sending", attempts=Message.attempts + 1, next_attempt_at=now + LEASE)
                .returning(Message.attempts)
            )
        ).first()
        if claimed is None:
            return  # already sent, failed for good, or another runner holds it
        attempts = claimed[0]
        outbound = await _build_outbound(session, message_id)
    spec = extension.channels().get(outbound.inbox.channel)
    try:
        if spec is None:
            raise DeliveryError(f"the {outbound.inbox.channel!r} channel is not installed", retry=False)
        result = await spec.send(outbound)
    except DeliveryError as exc:
        give_up = not exc.retry or attempts >= MAX_ATTEMPTS
        await _record(
            message_id,
            status="failed" if give_up else "queued",
            error=exc.reason,
            code=exc.code,
            retry_after=exc.retry_after,
        )
        if not give_up:
            raise
        return
    except Exception as exc:
        give_up = attempts >= MAX_ATTEMPTS
        reason = f"{type(exc).__name__}: {exc}"
        await _record(message_id, status="failed" if give_up else "queued", error=reason)
        if not give_up:
            raise
        return
    await _record(message_id, status=result.status, provider_id=result.provider_id, meta=result.meta)


async def _build_outbound(session: AsyncSession, message_id: int) -> OutboundMessage:
    message = await session.get(Message, message_id)
    assert message is not None
    conv = await session.get(Conversation, message.conversation_id)
    assert conv is not None
    # Loaded through this session: a second session here would deadlock SQLite's single writer.
    inbox_row = await session.get(Inbox, conv.inbox_id)
    assert inbox_row is not None
    inbox = config_of(inbox_row)
    spec = extension.channels().get(inbox.channel)
    kind = spec.identity_kind if spec else "external"
    ident = (
        await session.execute(
            select(ContactIdentity)
            .where(ContactIdentity.contact_id == conv.contact_id, ContactIdentity.kind == kind)
            .order_by(ContactIdentity.verified.desc(), ContactIdentity.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    refs = (
        (
            await session.execute(
                select(Message.provider_id)
                .where(
                    Message.conversation_id == conv.id,
                    Message.provider_id.is_not(None),
                    Message.id < message.id,
                )
                .order_by(Message.id)
            )
        )
        .scalars()
        .all()
    )
    rows = (
        (
            await session.execute(
                select(Attachment).where(Attachment.message_id == message.id).options(undefer(Attachment.data))
            )
        )
        .scalars()
        .all()
    )
    author = (
        await session.get(User, message.author_id) if message.author_kind == "agent" and message.author_id else None
    )
    return OutboundMessage(
        message_id=message.id,
        conversation_id=conv.id,
        inbox=inbox,
        to=Identity(kind, ident.address if ident else ""),
        text=message.text,
        html=message.html,
        subject=conv.subject or None,
        thread_key=conv.thread_key,
        thread_refs=[r for r in refs if r],
        attachments=[OutboundAttachment(a.filename, a.content_type, a.data or b"") for a in rows],
        author_name=author.name if author else None,
        conversation_meta=dict(conv.attributes or {}),
        idempotency_key=f"hub-message-{message.id}",
        automated=bool((message.meta or {}).get("automated")),
    )


async def _record(
    message_id: int,
    *,
    status: str,
    error: str | None = None,
    code: str | None = None,
    provider_id: str | None = None,
    meta: dict[str, Any] | None = None,
    retry_after: float | None = None,
) -> None:
    await set_delivery_status(
        message_id,
        status=status,
        error=error,
        code=code,
        provider_id=provider_id,
        meta=meta,
        next_attempt_at=utcnow() + timedelta(seconds=retry_after) if retry_after else None,
    )


async def set_delivery_status(
    message_id: int,
    *,
    status: str,
    error: str | None = None,
    code: str | None = None,
    provider_id: str | None = None,
    meta: dict[str, Any] | None = None,
    next_attempt_at: Any = None,
) -> None:
    """Move an outbound message along its lifecycle; channels call this from status callbacks too."""
    async with session_scope() as session:
        message = await session.get(Message, message_id)
        if message is None:
            return
        # Provider callbacks race the worker's own bookkeeping: a late "sent" never overwrites "delivered",
        # nor a failure the provider already reported.
        late = status in STATUS_RANK and (
            message.status == "failed" or STATUS_RANK.get(message.status, 0) > STATUS_RANK[status]
        )
        if late and message.direction == "out" and status != "queued":
            status = message.status
        message.status = status
        message.error = (f"{error} (code {code})" if code else error)[:1000] if error else None
        if provider_id:
            message.provider_id = provider_id
        if status in ("sent", "delivered") and message.sent_at is None:
            message.sent_at = utcnow()
        if meta:
            message.meta = {**(message.meta or {}), **meta}
        message.next_attempt_at = next_attempt_at
        message.updated_at = utcnow()
        conv = await session.get(Conversation, message.conversation_id)
        await session.flush()
        payload = msgspec.to_builtins(message_out(message))
    assert conv is not None
    await events.emit(
        DomainEvent(
            name="message.updated",
            data=payload,
            inbox_id=conv.inbox_id,
            conversation_id=conv.id,
            contact_id=conv.contact_id,
        )
    )


@sweeper
async def requeue_stuck_outbound() -> None:
    """After a crash: anything still queued, or sending past its lease, goes back on the queue."""
    now = utcnow()
    async with session_scope() as session:
        ids = (
            (
                await session.execute(
                    select(Message.id)
                    .where(
                        Message.direction == "out",
                        or_(
                            (Message.status == "queued")
                            & ((Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now)),
                            (Message.status == "sending") & (Message.next_attempt_at < now),
                        ),
                    )
                    .limit(1000)
                )
            )
            .scalars()
            .all()
        )
    for mid in ids:
        await enqueue(DELIVER, key=str(mid), message_id=mid)
