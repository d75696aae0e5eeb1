"""One raw message for one inbox -> the hub. Shared by the SMTP listener, IMAP polling, the MTA webhook
and `hub import-mail`, so every way in threads, deduplicates and limits mail the same way.

Threading, strongest first: a signed conversation token in a plus-address recipient, then In-Reply-To and
References (Message-IDs the hub stored as provider ids), then a thread key made of the sender and the
thread's root Message-ID. A new mail without references therefore opens its own conversation, and two
contacts' mail is never joined (ingest also requires the conversation's contact to match).
Delivery reports about mail the hub sent mark that message failed instead of opening a conversation.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import select

from channels.email import parse, tokens
from channels.email.settings import EmailSettings, load_settings
from hub.db import session_scope
from hub.dispatch import set_delivery_status
from hub.inbound import Identity, InboundAttachment, InboundMessage
from hub.ingest import IngestRejected, ingest
from hub.models import Message
from hub.outbound import InboxConfig

log = logging.getLogger("channels.email.receive")
MAX_FULL_TEXT = 200_000


class MessageTooLarge(IngestRejected):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the message is {size} bytes; this mailbox accepts at most {limit} bytes")
        self.size = size
        self.limit = limit


class Received(msgspec.Struct):
    provider_id: str
    message_id: int | None = None
    conversation_id: int | None = None
    created: bool = False
    bounce_for: int | None = None  # the outbound message a delivery report marked failed


async def receive(
    inbox: InboxConfig,
    raw: bytes,
    *,
    source: str,
    recipients: list[str] | None = None,
    envelope_from: str | None = None,
    settings: EmailSettings | None = None,
    keep_date: bool = False,
) -> Received:
    """Store `raw` in `inbox`. Raises IngestRejected (incl. MessageTooLarge) with a reason for the sender."""
    settings = settings or load_settings(inbox.settings)
    if len(raw) > settings.max_message_bytes:
        raise MessageTooLarge(len(raw), settings.max_message_bytes)
    try:
        parsed = parse.parse_message(raw)
    except parse.UnparseableEmail as exc:
        raise IngestRejected(f"not an email message: {exc}") from exc
    if parsed.bounce is not None and parsed.bounce.original_ids:
        target = await _find_outbound(inbox.id, parsed.bounce.original_ids)
        if target is not None:
            await _record_bounce(target, parsed.bounce, parsed, source)
            return Received(provider_id=parsed.provider_id, bounce_for=target)
    sender = parsed.from_address or _clean(envelope_from)
    if not sender:
        raise IngestRejected("the message has no sender address (From, Sender or envelope MAIL FROM)")
    candidates = [*(recipients or []), *parsed.delivered_to, *parsed.to, *parsed.cc]
    conversation_id = tokens.conversation_from(candidates, settings.address, inbox.id)
    refs = parsed.thread_refs
    root = refs[0] if refs else parsed.provider_id
    thread_key = "email:" + hashlib.sha256(f"{sender}\x1f{root}".encode()).hexdigest()[:40]
    attachments, skipped = _attachments(parsed, settings)
    if settings.keep_original:
        attachments.append(InboundAttachment(filename="original.eml", content_type="message/rfc822", data=raw))
    meta = _meta(parsed, source, skipped)
    html = parsed.html if not parsed.quoted_stripped else None
    sent_at = parsed.date if keep_date and parsed.date and parsed.date <= datetime.now(UTC) else None
    result = await ingest(
        InboundMessage(
            inbox_id=inbox.id,
            provider_id=parsed.provider_id,
            sender=Identity("email", sender),
            sender_name=parsed.from_name,
            text=parsed.reply_text,
            html=html,
            subject=parsed.subject,
            conversation_id=conversation_id,
            thread_refs=refs,
            thread_key=thread_key,
            attachments=attachments,
            sent_at=sent_at,
            meta=meta,
            automated=parsed.automated,
        ),
        # Limits for separate attachments were applied above; the whole original is bounded by the message limit.
        max_attachment_bytes=max(settings.max_message_bytes, settings.max_attachment_bytes),
    )
    return Received(
        provider_id=parsed.provider_id,
        message_id=result.message_id,
        conversation_id=result.conversation_id,
        created=result.created,
    )


def _clean(address: str | None) -> str | None:
    value = (address or "").strip().strip("<>").lower()
    return value if "@" in value and " " not in value else None


def _attachments(parsed: parse.ParsedEmail, settings: EmailSettings) -> tuple[list[InboundAttachment], list[Any]]:
    kept: list[InboundAttachment] = []
    skipped: list[dict[str, Any]] = []
    blocked_types = {t.lower() for t in settings.blocked_attachment_types}
    blocked_ext = tuple(e.lower() for e in settings.blocked_attachment_extensions)
    for att in parsed.attachments:
        size = len(att.data)
        reason = None
        if size > settings.max_attachment_bytes:
            reason = f"{size} bytes is over the {settings.max_attachment_bytes}-byte attachment limit"
        elif att.content_type.lower() in blocked_types or att.filename.lower().endswith(blocked_ext):
            reason = f"{att.content_type} files are not stored separately"
        if reason:
            skipped.append({"filename": att.filename, "content_type": att.content_type, "size": size, "reason": reason})
            continue
        kept.append(InboundAttachment(filename=att.filename, content_type=att.content_type, data=att.data, size=size))
    return kept, skipped


def _meta(parsed: parse.ParsedEmail, source: str, skipped: list[Any]) -> dict[str, Any]:
    email_meta: dict[str, Any] = {
        "source": source,
        "message_id": parsed.message_id,
        "from": parsed.from_address,
        "to": parsed.to,
        "cc": parsed.cc,
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else None,
        "in_reply_to": parsed.in_reply_to,
        "references": parsed.references[-50:],
    }
    if parsed.automated_reason:
        email_meta["automated_reason"] = parsed.automated_reason
    if parsed.defects:
        email_meta["defects"] = parsed.defects
    if skipped:
        email_meta["skipped_attachments"] = skipped
    if parsed.quoted_stripped:
        # The timeline shows the new part; the whole text (with the quoted history) stays here.
        email_meta["full_text"] = parsed.text[:MAX_FULL_TEXT]
        if parsed.html is not None:
            email_meta["html_with_history"] = True
    if parsed.bounce is not None:
        email_meta["bounce"] = msgspec.to_builtins(parsed.bounce)
    return {"email": email_meta}


async def _find_outbound(inbox_id: int, message_ids: list[str]) -> int | None:
    async with session_scope() as session:
        found = (
            await session.execute(
                select(Message.id)
                .where(
                    Message.inbox_id == inbox_id,
                    Message.direction == "out",
                    Message.provider_id.in_(message_ids[:50]),
                )
                .order_by(Message.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    return found


async def _record_bounce(message_id: int, bounce: parse.Bounce, parsed: parse.ParsedEmail, source: str) -> None:
    facts = {**msgspec.to_builtins(bounce), "report_message_id": parsed.message_id, "source": source}
    if bounce.failed:
        await set_delivery_status(message_id, status="failed", error=bounce.describe(), meta={"bounce": facts})
    else:  # delayed / delivered / relayed: worth showing, not a failure
        async with session_scope() as session:
            message = await session.get(Message, message_id)
            status = message.status if message is not None else "sent"
        await set_delivery_status(message_id, status=status, meta={"delivery_report": facts})
