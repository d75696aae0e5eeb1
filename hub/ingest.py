"""The one way a message from outside enters the hub, whichever channel brought it.

identity -> contact, thread -> conversation, message stored once (idempotent on the inbox's provider id),
all in one transaction; then domain events after commit.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import events
from hub.activity import inbound_events, new_conversation, record_inbound
from hub.contacts import resolve_contact
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.identities import normalise
from hub.inbound import Identity, InboundMessage, IngestResult
from hub.inboxes import get_inbox_config
from hub.ingest_batch import Batcher, Pending, eligible
from hub.locks import lock_key, xact_lock
from hub.models import Attachment, Conversation, Message
from hub.outbound import InboxConfig
from hub.sanitize import clean_html, html_to_text
from hub.schemas import AttachmentOut, message_out

log = logging.getLogger("hub.ingest")
PREVIEW = 280


class IngestRejected(ValueError):
    """The message cannot be stored as given (bad identity, oversize attachment ...): a 4xx for the caller."""


async def ingest(msg: InboundMessage, *, max_attachment_bytes: int = 10_485_760) -> IngestResult:
    inbox = await get_inbox_config(msg.inbox_id)
    try:
        identities = [normalise(msg.sender), *(normalise(i) for i in msg.also_known_as)]
    except ValueError as exc:
        raise IngestRejected(str(exc)) from exc
    if not msg.provider_id:
        raise IngestRejected("the message has no provider id, so retries could not be recognised")
    if len(msg.provider_id) > 255 or (msg.thread_key and len(msg.thread_key) > 255):
        raise IngestRejected("the message id and thread key must be at most 255 characters")
    for att in msg.attachments:
        size = att.size if att.size is not None else len(att.data or b"")
        if size > max_attachment_bytes:
            raise IngestRejected(
                f"attachment {att.filename!r} is {size} bytes; the limit is {max_attachment_bytes} bytes"
            )
    msg = _without_nul(msg)
    html = clean_html(msg.html) if msg.html else None
    text = msg.text or (html_to_text(html) if html else "")
    if _batcher is not None and eligible(msg):
        return await _batcher.submit(Pending(msg, inbox, identities[0], text, html))
    return await _ingest_one(msg, inbox, identities, text, html)


_batcher: Batcher | None = None


def _without_nul(msg: InboundMessage) -> InboundMessage:
    """NUL characters carry no meaning in a message and PostgreSQL text cannot hold them."""
    fields = {"text": msg.text, "html": msg.html, "subject": msg.subject, "sender_name": msg.sender_name}
    if not any(v and "\x00" in v for v in fields.values()):
        return msg
    return msgspec.structs.replace(msg, **{k: v.replace("\x00", "") if v else v for k, v in fields.items()})


def enable_batching(enabled: bool = True) -> None:
    """Group commit for plain messages (on by default in the app; see hub.ingest_batch)."""
    global _batcher
    _batcher = Batcher(_fallback) if enabled else None


async def disable_batching() -> None:
    global _batcher
    if _batcher is not None:
        await _batcher.close()
    _batcher = None


async def _fallback(item: Pending) -> IngestResult:
    return await _ingest_one(item.msg, item.inbox, [item.sender], item.text, item.html)


async def _ingest_one(
    msg: InboundMessage, inbox: InboxConfig, identities: list[Identity], text: str, html: str | None
) -> IngestResult:
    pending: list[DomainEvent] = []
    primary = identities[0]
    # Every lock this message can need, taken in one round trip and in a fixed order (no lock cycles):
    # the provider id (retries), each identity (contact creation), and the thread it lands in.
    keys = [lock_key("msg", inbox.id, msg.provider_id)]
    keys += [lock_key("identity", i.kind, i.address) for i in identities]
    keys.append(
        lock_key("thread", inbox.id, msg.thread_key)
        if msg.thread_key
        else lock_key("sender-thread", inbox.id, primary.kind, primary.address)
    )
    async with session_scope() as session:
        await xact_lock(session, *keys)
        dup = (
            await session.execute(
                select(Message.id, Message.conversation_id, Conversation.contact_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.inbox_id == inbox.id, Message.provider_id == msg.provider_id)
            )
        ).first()
        if dup is not None:
            return IngestResult(message_id=dup[0], conversation_id=dup[1], contact_id=dup[2], created=False)
        contact_id, _, merge_events = await resolve_contact(session, identities, msg.sender_name, locked=True)
        pending.extend(merge_events)
        now = utcnow()
        text_preview = text[:PREVIEW]
        conversation, conv_created = await _resolve_conversation(session, inbox, msg, contact_id, now, text_preview)
        message = Message(
            conversation_id=conversation.id,
            inbox_id=inbox.id,
            direction="in",
            author_kind="contact",
            author_id=contact_id,
            text=text,
            html=html,
            provider_id=msg.provider_id,
            status="received",
            meta={**msg.meta, **({"automated": True} if msg.automated else {})},
            created_at=msg.sent_at or now,
        )
        session.add(message)
        if msg.attachments:
            await session.flush()
        attachments: list[AttachmentOut] = []
        for att in msg.attachments:
            data = att.data
            row = Attachment(
                message_id=message.id,
                filename=att.filename[:255] or "attachment",
                content_type=att.content_type[:127] or "application/octet-stream",
                size=att.size if att.size is not None else len(data or b""),
                sha256=hashlib.sha256(data or b"").hexdigest(),
                source_url=att.url,
                data=data,
            )
            session.add(row)
            await session.flush()
            attachments.append(
                AttachmentOut(row.id, row.filename, row.content_type, row.size, f"/api/v1/attachments/{row.id}")
            )
        reopened = record_inbound(
            session, conversation, created=conv_created, inbox=inbox, contact_id=contact_id, preview=text, now=now
        )
        await session.flush()
        pending.extend(
            inbound_events(
                conversation,
                msgspec.to_builtins(message_out(message, attachments)),
                created=conv_created,
                reopened=reopened,
                automated=msg.automated,
                contact_id=contact_id,
            )
        )
    await events.emit(pending)
    return IngestResult(
        message_id=message.id,
        conversation_id=conversation.id,
        contact_id=contact_id,
        created=True,
        conversation_created=conv_created,
    )


async def _resolve_conversation(
    session: AsyncSession, inbox: InboxConfig, msg: InboundMessage, contact_id: int, now: datetime, preview: str
) -> tuple[Conversation, bool]:
    """The conversation this message belongs to; a new one is inserted already carrying this message's
    activity, so the common first-message path needs no second UPDATE."""
    if msg.conversation_id is not None:
        conv = await session.get(Conversation, msg.conversation_id)
        if conv is not None and conv.inbox_id == inbox.id and conv.contact_id == contact_id and conv.status != "closed":
            return conv, False
    if msg.thread_refs:
        found = (
            await session.execute(
                select(Conversation)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(
                    Message.inbox_id == inbox.id,
                    Message.provider_id.in_(msg.thread_refs[-50:]),
                    Conversation.contact_id == contact_id,
                    Conversation.status != "closed",
                )
                .order_by(Conversation.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if found is not None:
            return found, False
    if msg.thread_key:
        found = (
            await session.execute(
                select(Conversation)
                .where(
                    Conversation.inbox_id == inbox.id,
                    Conversation.thread_key == msg.thread_key,
                    Conversation.status != "closed",
                )
                .order_by(Conversation.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    elif msg.thread_refs or msg.conversation_id is not None:
        found = None  # an answer to something we cannot place starts a new conversation
    else:
        found = (
            await session.execute(
                select(Conversation)
                .where(
                    Conversation.inbox_id == inbox.id,
                    Conversation.contact_id == contact_id,
                    Conversation.thread_key.is_(None),
                    Conversation.status != "closed",
                )
                .order_by(Conversation.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    if found is not None:
        return found, False
    conv = new_conversation(inbox, contact_id, subject=msg.subject, thread_key=msg.thread_key, preview=preview, now=now)
    session.add(conv)
    await session.flush()
    return conv, True
