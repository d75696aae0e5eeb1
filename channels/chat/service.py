"""What the widget may do, independent of transport: sessions, history, sending, reading, offline mail.

A visitor only ever sees conversations of the contact that owns its own visitor identity, in the
widget's own inbox. Nothing the client sends (conversation ids, unverified emails) widens that set;
only an identity HMAC made by the site's backend links a visitor to a known person.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import time
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from channels.chat import tokens
from channels.chat.models import ChatVisitor
from channels.chat.reads import read_scope
from channels.chat.settings import ChatInboxSettings, chat_settings

__all__ = ["ChatError", "chat_settings"]
from hub import events
from hub.contacts import resolve_contact
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.identities import InvalidAddress, normalise_email, normalise_phone
from hub.inbound import Identity, InboundAttachment, InboundMessage, IngestResult
from hub.inboxes import UnknownInbox, get_inbox_config
from hub.ingest import ingest
from hub.models import Attachment, Contact, ContactIdentity, Conversation, ConversationTag, InboxMember, Message, User
from hub.outbound import InboxConfig
from hub.schemas import message_out

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TEXT = 10_000
HISTORY_LIMIT = 200


class ChatError(Exception):
    """A refusal meant for the visitor: `status` for HTTP, `code` for socket error frames."""

    def __init__(self, detail: str, *, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code


class IdentityIn(msgspec.Struct, kw_only=True):
    email: str | None = None
    name: str | None = None
    phone: str | None = None


class SessionRequest(msgspec.Struct, kw_only=True):
    inbox: str  # the inbox's public token
    token: str | None = None  # an earlier visitor token, to continue as the same visitor
    identity: IdentityIn | None = None
    identity_hmac: str | None = None  # HMAC-SHA256(identity_secret, email), hex
    phone_hmac: str | None = None  # optional HMAC-SHA256(identity_secret, phone): links the phone too


class Visitor(msgspec.Struct, kw_only=True):
    """A verified token plus what it may touch; what every socket and upload works with."""

    inbox: InboxConfig
    settings: ChatInboxSettings
    visitor_id: str
    contact_id: int | None = None
    verified: bool = False
    details: dict[str, Any] = msgspec.field(default_factory=dict)


# --- inbox and token ------------------------------------------------------------------------------------
async def chat_inbox(ref: str | int) -> InboxConfig:
    try:
        return await get_inbox_config(ref, channel="chat")
    except UnknownInbox as exc:
        raise ChatError(
            "No active chat inbox with this token; check data-inbox on the widget's script tag.",
            status=404,
            code="unknown_inbox",
        ) from exc


def check_origin(settings: ChatInboxSettings, origin: str | None) -> None:
    if not settings.allowed_origins:
        return
    allowed = {o.rstrip("/").lower() for o in settings.allowed_origins}
    if not origin or origin.rstrip("/").lower() not in allowed:
        raise ChatError(
            f"This chat is not enabled on {origin or 'this page'}; add the site to the inbox's allowed origins.",
            status=403,
            code="origin_not_allowed",
        )


async def visitor_from_token(token: str | None) -> Visitor:
    if not token:
        raise ChatError("A visitor token is required; start a chat session first.", status=401, code="no_token")
    try:
        claims = tokens.read(token)
    except tokens.BadToken as exc:
        raise ChatError(str(exc), status=401, code="bad_token") from exc
    inbox = await chat_inbox(claims.inbox_id)
    visitor = Visitor(inbox=inbox, settings=settings_of(inbox), visitor_id=claims.visitor_id)
    verified, details, visitor.contact_id = await _lookups.get(claims.visitor_id)
    visitor.verified, visitor.details = verified, dict(details)
    return visitor


_settings_cache: dict[int, tuple[InboxConfig, ChatInboxSettings]] = {}


def settings_of(inbox: InboxConfig) -> ChatInboxSettings:
    """One settings struct per loaded inbox config, shared by all of its sockets."""
    hit = _settings_cache.get(inbox.id)
    if hit is not None and hit[0] is inbox:
        return hit[1]
    parsed = chat_settings(inbox.settings)
    _settings_cache[inbox.id] = (inbox, parsed)
    return parsed


VisitorState = tuple[bool, dict[str, Any], int | None]


class _VisitorLookups:
    """Coalesces the look-ups of visitors connecting at the same moment into one query each for their
    rows and identities: a burst of reconnecting widgets (a deploy, a network blip) costs a few queries,
    not one transaction per socket."""

    BATCH = 500

    def __init__(self) -> None:
        self.waiting: dict[str, list[asyncio.Future[VisitorState]]] = {}
        self.task: asyncio.Task[None] | None = None

    async def get(self, visitor_id: str) -> VisitorState:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[VisitorState] = loop.create_future()
        self.waiting.setdefault(visitor_id, []).append(fut)
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(self._run())
        return await fut

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # let the connects of this instant join the batch
            while self.waiting:
                ids = list(self.waiting)[: self.BATCH]
                batch = {vid: self.waiting.pop(vid) for vid in ids}
                try:
                    found = await self._query(ids)
                except Exception as exc:
                    for futs in batch.values():
                        for fut in futs:
                            if not fut.done():
                                fut.set_exception(exc)
                    continue
                for vid, futs in batch.items():
                    for fut in futs:
                        if not fut.done():
                            fut.set_result(found.get(vid, (False, {}, None)))
        finally:
            self.task = None

    async def _query(self, ids: list[str]) -> dict[str, VisitorState]:
        async with read_scope() as session:
            rows = (
                await session.execute(
                    select(ChatVisitor.visitor_id, ChatVisitor.verified, ChatVisitor.details).where(
                        ChatVisitor.visitor_id.in_(ids)
                    )
                )
            ).all()
            owners = dict(
                (
                    await session.execute(
                        select(ContactIdentity.address, ContactIdentity.contact_id).where(
                            ContactIdentity.kind == "visitor", ContactIdentity.address.in_(ids)
                        )
                    )
                )
                .tuples()
                .all()
            )
        out: dict[str, VisitorState] = {vid: (False, {}, owners.get(vid)) for vid in ids}
        for vid, verified, details in rows:
            out[vid] = (bool(verified), dict(details or {}), owners.get(vid))
        return out


_lookups = _VisitorLookups()


async def _contact_of(session: AsyncSession, visitor_id: str) -> int | None:
    return (
        await session.execute(
            select(ContactIdentity.contact_id).where(
                ContactIdentity.kind == "visitor", ContactIdentity.address == visitor_id
            )
        )
    ).scalar_one_or_none()


# --- sessions ----------------------------------------------------------------------------------------
def identity_hmac(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def _hmac_ok(secret: str, value: str, given: str) -> bool:
    return hmac.compare_digest(identity_hmac(secret, value), given.strip().lower())


async def start_session(req: SessionRequest, origin: str | None) -> dict[str, Any]:
    inbox = await chat_inbox(req.inbox)
    settings = chat_settings(inbox.settings)
    check_origin(settings, origin)
    visitor_id: str | None = None
    if req.token:
        try:
            claims = tokens.read(req.token)
            if claims.inbox_id == inbox.id:
                visitor_id = claims.visitor_id
        except tokens.BadToken:
            visitor_id = None  # a stale token from an older key simply starts a new visitor
    ident = req.identity
    email = (ident.email or "").strip() if ident else ""
    verified_ids: list[Identity] = []
    details: dict[str, Any] = {}
    if ident is not None:
        if ident.name:
            details["name"] = ident.name.strip()[:255]
        if email:
            try:
                details["email"] = normalise_email(email)
            except InvalidAddress as exc:
                raise ChatError(f"{exc}; send a valid email or none.", code="bad_identity") from exc
        if ident.phone:
            try:
                details["phone"] = normalise_phone(ident.phone)
            except InvalidAddress as exc:
                raise ChatError(f"{exc}; send a phone in international format or none.", code="bad_identity") from exc
    if req.identity_hmac is not None:
        secret = str(inbox.credentials.get("identity_secret") or "")
        if not email:
            raise ChatError("identity_hmac was sent without identity.email; both are needed.", status=403)
        if not secret:
            raise ChatError(
                "This inbox has no identity secret, so identity_hmac cannot be checked; set one in the inbox.",
                status=403,
                code="no_identity_secret",
            )
        if not _hmac_ok(secret, email, req.identity_hmac):
            raise ChatError(
                "identity_hmac does not match the email: compute HMAC-SHA256(identity secret, email) "
                "on your server, hex-encoded.",
                status=403,
                code="bad_identity_hmac",
            )
        verified_ids.append(Identity("email", details["email"], verified=True))
        if req.phone_hmac and "phone" in details:
            if not _hmac_ok(secret, str(ident.phone if ident else "").strip(), req.phone_hmac):
                raise ChatError("phone_hmac does not match the phone.", status=403, code="bad_identity_hmac")
            verified_ids.append(Identity("phone", details["phone"], verified=True))
    pending: list[DomainEvent] = []
    async with session_scope() as session:
        row = None
        if visitor_id is not None:
            row = (
                await session.execute(select(ChatVisitor).where(ChatVisitor.visitor_id == visitor_id))
            ).scalar_one_or_none()
            if row is not None and verified_ids and row.verified and row.details.get("email") != details.get("email"):
                row, visitor_id = None, None  # someone else signed in on this browser: a fresh visitor
        if visitor_id is None:
            visitor_id = tokens.new_visitor_id()
        if row is None:
            row = ChatVisitor(visitor_id=visitor_id, inbox_id=inbox.id, verified=False, details={})
            session.add(row)
        contact_id = await _contact_of(session, visitor_id)
        if verified_ids:
            contact_id, _, merged = await resolve_contact(
                session, [Identity("visitor", visitor_id, verified=True), *verified_ids], details.get("name")
            )
            pending.extend(merged)
            row.verified = True
            await session.execute(update(Contact).where(Contact.id == contact_id).values(verified=True))
            if details.get("name"):
                await session.execute(
                    update(Contact).where(Contact.id == contact_id, Contact.name == "").values(name=details["name"])
                )
        row.contact_id = contact_id
        row.details = {**(row.details or {}), **details}
        row.last_seen_at = utcnow()
        try:
            await session.flush()
        except IntegrityError as exc:
            raise ChatError("This visitor session was started twice at once; try again.", status=409) from exc
        verified = row.verified
        has_conversation = contact_id is not None and bool(await _conversation_ids(session, contact_id, inbox.id))
        prechat_done = bool((row.details or {}).get("prechat")) or verified
    if pending:
        await events.emit(pending)
    return {
        "token": tokens.issue(inbox.id, visitor_id),
        "visitor_id": visitor_id,
        "verified": verified,
        "online": await agents_available(inbox.id),
        "needs_prechat": bool(settings.prechat_fields) and not prechat_done and not has_conversation,
        "inbox": public_settings(inbox, settings),
    }


def public_settings(inbox: InboxConfig, settings: ChatInboxSettings) -> dict[str, Any]:
    return {
        "name": inbox.name,
        "title": settings.title,
        "greeting": settings.greeting,
        "color": settings.color,
        "prechat_fields": msgspec.to_builtins(settings.prechat_fields),
        "offline_message": settings.offline_message,
        "max_attachment_bytes": settings.max_attachment_bytes,
        "attachment_types": settings.attachment_types,
    }


# --- availability ------------------------------------------------------------------------------------
_available: dict[int, tuple[float, bool]] = {}


async def agents_available(inbox_id: int) -> bool:
    """Someone can answer now: an active member of the inbox whose availability is online (presence keeps
    it current from the agents' sockets). Cached for a few seconds, since every page view asks."""
    now = time.monotonic()
    hit = _available.get(inbox_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    async with read_scope() as session:
        found = (
            await session.execute(
                select(User.id)
                .join(InboxMember, InboxMember.user_id == User.id)
                .where(InboxMember.inbox_id == inbox_id, User.active, User.availability == "online")
                .limit(1)
            )
        ).first()
    _available[inbox_id] = (now + 3.0, found is not None)
    return found is not None


def forget_availability() -> None:
    _available.clear()


# --- history -----------------------------------------------------------------------------------------
async def _conversation_ids(session: AsyncSession, contact_id: int, inbox_id: int) -> list[int]:
    return list(
        (
            await session.execute(
                select(Conversation.id)
                .where(Conversation.contact_id == contact_id, Conversation.inbox_id == inbox_id)
                .order_by(Conversation.id)
            )
        ).scalars()
    )


async def conversation_ids(visitor: Visitor) -> list[int]:
    if visitor.contact_id is None:
        return []
    async with read_scope() as session:
        return await _conversation_ids(session, visitor.contact_id, visitor.inbox.id)


async def history(visitor: Visitor, after: int | None = None) -> tuple[list[dict[str, Any]], bool]:
    """Messages (in and out, never notes) of the visitor's conversations, oldest first; after `after` when
    resuming. Returns (frames, complete) where complete is False when older ones were left out."""
    if visitor.contact_id is None:
        return [], True
    async with read_scope() as session:
        conv_ids = await _conversation_ids(session, visitor.contact_id, visitor.inbox.id)
        if not conv_ids:
            return [], True
        query = select(Message).where(
            Message.conversation_id.in_(conv_ids), Message.direction.in_(("in", "out")), Message.status != "failed"
        )
        if after is not None:
            query = query.where(Message.id > after)
        rows = list((await session.execute(query.order_by(Message.id.desc()).limit(HISTORY_LIMIT + 1))).scalars())
        complete = len(rows) <= HISTORY_LIMIT
        rows = rows[:HISTORY_LIMIT][::-1]
        atts: dict[int, list[dict[str, Any]]] = {}
        if rows:
            for a in (
                await session.execute(
                    select(
                        Attachment.id,
                        Attachment.message_id,
                        Attachment.filename,
                        Attachment.content_type,
                        Attachment.size,
                    )
                    .where(Attachment.message_id.in_([m.id for m in rows]))
                    .order_by(Attachment.id)
                )
            ).all():
                atts.setdefault(a[1], []).append({"id": a[0], "filename": a[2], "content_type": a[3], "size": a[4]})
        payloads = [msgspec.to_builtins(message_out(m)) for m in rows]
    names = await author_names({p["author_id"] for p in payloads if p["author_kind"] == "agent" and p["author_id"]})
    frames = []
    for p in payloads:
        p["attachments"] = atts.get(p["id"], [])
        frames.append(message_frame(p, names))
    return frames, complete


_names: dict[int, tuple[float, str]] = {}


async def author_names(user_ids: set[int]) -> dict[int, str]:
    now = time.monotonic()
    missing = [u for u in user_ids if u not in _names or _names[u][0] < now]
    if missing:
        async with read_scope() as session:
            for uid, name, email in (
                await session.execute(select(User.id, User.name, User.email).where(User.id.in_(missing)))
            ).all():
                _names[uid] = (now + 300.0, (name or email.split("@", 1)[0]).split(" ")[0])
    return {u: _names[u][1] for u in user_ids if u in _names}


def message_frame(data: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    """A message as the visitor may see it: no notes, no internal metadata, attachments via the widget."""
    author_id = data.get("author_id")
    out = data.get("direction") == "out"
    provider_id = data.get("provider_id") or ""
    return {
        "type": "message",
        "id": data["id"],
        "conversation_id": data["conversation_id"],
        "direction": data["direction"],
        "author": "agent" if out else "visitor",
        "author_name": names.get(author_id, "") if out and isinstance(author_id, int) else "",
        "text": data.get("text") or "",
        "status": data.get("status"),
        "created_at": data.get("created_at"),
        "client_id": provider_id.split(":", 1)[1] if not out and ":" in provider_id else None,
        "attachments": [
            {
                "id": a["id"],
                "filename": a["filename"],
                "content_type": a["content_type"],
                "size": a["size"],
                "url": f"/api/v1/widget/attachments/{a['id']}",
            }
            for a in data.get("attachments") or []
        ],
    }


# --- sending -----------------------------------------------------------------------------------------
def check_client_id(client_id: Any) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise ChatError("client_id must be 1-64 letters, digits, '-' or '_' (the widget makes one per message).")
    return client_id


def check_text(text: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(text, str):
        raise ChatError("text must be a string.")
    text = text.strip()
    if not text and not allow_empty:
        raise ChatError("The message is empty; type something first.")
    if len(text) > MAX_TEXT:
        raise ChatError(f"The message is {len(text)} characters; the limit is {MAX_TEXT}.", status=413)
    return text


async def send_from_visitor(
    visitor: Visitor,
    text: str,
    client_id: str,
    attachments: list[InboundAttachment] | None = None,
) -> IngestResult:
    """Store the visitor's message once: resending the same client id returns the stored one."""
    result = await ingest(
        InboundMessage(
            inbox_id=visitor.inbox.id,
            provider_id=f"{visitor.visitor_id}:{client_id}",
            sender=Identity("visitor", visitor.visitor_id, verified=True),
            sender_name=str(visitor.details.get("name") or "") or None,
            text=text,
            attachments=attachments or [],
            meta={"channel": "chat"},
        ),
        max_attachment_bytes=visitor.settings.max_attachment_bytes,
    )
    if visitor.contact_id is not None and result.contact_id != visitor.contact_id and not result.created:
        # A provider id collision can only be this visitor's own resend; anything else is refused.
        raise ChatError("That message id belongs to another conversation; send it again.", status=409)
    first = visitor.contact_id is None or result.conversation_created
    visitor.contact_id = result.contact_id
    if first:
        await _remember_contact(visitor)
    return result


async def _remember_contact(visitor: Visitor) -> None:
    """Unverified details (pre-chat answers) go on the contact as plain fields, never as identities."""
    details = visitor.details
    prechat = details.get("prechat") or {}
    async with session_scope() as session:
        await session.execute(
            update(ChatVisitor)
            .where(ChatVisitor.visitor_id == visitor.visitor_id)
            .values(contact_id=visitor.contact_id)
        )
        contact = await session.get(Contact, visitor.contact_id)
        if contact is None:
            return
        if details.get("name") and not contact.name:
            contact.name = str(details["name"])[:255]
        if details.get("email") and not contact.email:
            contact.email = str(details["email"])
        if details.get("phone") and not contact.phone:
            contact.phone = str(details["phone"])
        if prechat:
            contact.attributes = {**(contact.attributes or {}), "prechat": prechat}
        contact.updated_at = utcnow()


async def save_prechat(visitor: Visitor, fields: Any) -> dict[str, Any]:
    if not isinstance(fields, dict):
        raise ChatError("fields must be an object of the form's answers.")
    answers: dict[str, str] = {}
    for spec in visitor.settings.prechat_fields:
        value = str(fields.get(spec.name) or "").strip()[:500]
        if not value:
            if spec.required:
                raise ChatError(f"Please fill in {spec.label or spec.name}.", code="prechat_required")
            continue
        try:
            if spec.type == "email" or spec.name == "email":
                value = normalise_email(value)
            elif spec.type == "tel" or spec.name == "phone":
                value = normalise_phone(value)
        except InvalidAddress as exc:
            raise ChatError(f"{spec.label or spec.name}: {exc}.", code="prechat_invalid") from exc
        answers[spec.name] = value
    details = {**visitor.details, "prechat": answers}
    for key in ("name", "email", "phone"):
        if key in answers and not visitor.verified:
            details[key] = answers[key]
    visitor.details = details
    async with session_scope() as session:
        await session.execute(
            update(ChatVisitor).where(ChatVisitor.visitor_id == visitor.visitor_id).values(details=details)
        )
    if visitor.contact_id is not None:
        await _remember_contact(visitor)
    return answers


async def mark_read(visitor: Visitor, up_to: Any) -> list[int]:
    """The visitor has seen everything up to this message: agent messages become 'read'."""
    if not isinstance(up_to, int) or visitor.contact_id is None:
        raise ChatError("message_id must be the id of a message you received.")
    async with session_scope() as session:
        conv_ids = await _conversation_ids(session, visitor.contact_id, visitor.inbox.id)
        if not conv_ids:
            return []
        rows = list(
            (
                await session.execute(
                    select(Message)
                    .where(
                        Message.conversation_id.in_(conv_ids),
                        Message.direction == "out",
                        Message.id <= up_to,
                        Message.status.in_(("queued", "sending", "sent", "delivered")),
                    )
                    .order_by(Message.id.desc())
                    .limit(50)
                )
            ).scalars()
        )
        now = utcnow()
        for m in rows:
            m.status = "read"
            m.meta = {**(m.meta or {}), "read_at": now.isoformat()}
            m.updated_at = now
        await session.execute(
            update(ChatVisitor)
            .where(ChatVisitor.visitor_id == visitor.visitor_id)
            .values(last_read_message_id=up_to, last_seen_at=now)
        )
        await session.flush()
        payloads = [(m.conversation_id, msgspec.to_builtins(message_out(m))) for m in rows]
    await events.emit(
        [
            DomainEvent(
                name="message.updated",
                data=p,
                inbox_id=visitor.inbox.id,
                conversation_id=cid,
                contact_id=visitor.contact_id,
            )
            for cid, p in payloads
        ]
    )
    return [p["id"] for _, p in payloads]


async def visitor_typing(visitor: Visitor, conversation_id: int, typing: bool) -> None:
    name = str(visitor.details.get("name") or "") or "The visitor"
    await events.emit(
        DomainEvent(
            name="typing",
            data={"author_kind": "contact", "contact_id": visitor.contact_id, "name": name, "typing": typing},
            inbox_id=visitor.inbox.id,
            conversation_id=conversation_id,
            contact_id=visitor.contact_id,
        )
    )


async def offline_message(visitor: Visitor, email: Any, text: str, client_id: str) -> dict[str, Any]:
    """Nobody is online: the message becomes an email conversation (the configured email inbox) with the
    visitor's address, or stays in the chat inbox tagged "offline" with the address on the contact."""
    if not isinstance(email, str) or not email.strip():
        raise ChatError("Leave an email address so we can reply.", code="email_required")
    try:
        address = normalise_email(email)
    except InvalidAddress as exc:
        raise ChatError(f"{exc}; check the address.", code="bad_email") from exc
    target = visitor.settings.offline_email_inbox_id
    if target is not None:
        try:
            email_inbox = await get_inbox_config(target, channel="email")
        except UnknownInbox:
            target = None
    if target is not None:
        verified = visitor.verified and visitor.details.get("email") == address
        name = str(visitor.details.get("name") or "") or None
        result = await ingest(
            InboundMessage(
                inbox_id=email_inbox.id,
                provider_id=f"chat-offline:{visitor.visitor_id}:{client_id}",
                sender=Identity("email", address, verified=verified),
                sender_name=name,
                subject=f"Chat message from {name or address}",
                text=text,
                meta={"via": "chat-offline", "chat_inbox_id": visitor.inbox.id},
            )
        )
        return {"mode": "email", "message_id": result.message_id, "conversation_id": None}
    visitor.details = {**visitor.details, "email": visitor.details.get("email") or address}
    result = await send_from_visitor(visitor, text, client_id)
    async with session_scope() as session:
        contact = await session.get(Contact, result.contact_id)
        if contact is not None:
            if not contact.email:
                contact.email = address
            contact.attributes = {**(contact.attributes or {}), "offline_email": address}
        exists = await session.get(ConversationTag, (result.conversation_id, "offline"))
        if exists is None:
            session.add(ConversationTag(conversation_id=result.conversation_id, tag="offline"))
    return {"mode": "chat", "message_id": result.message_id, "conversation_id": result.conversation_id}


async def attachment_for(visitor: Visitor, attachment_id: int) -> Attachment:
    """An attachment on one of the visitor's own conversations, or a 404 (never 403: ids do not leak)."""
    if visitor.contact_id is None:
        raise ChatError("No such attachment.", status=404, code="not_found")
    async with read_scope() as session:
        row = (
            await session.execute(
                select(Attachment)
                .join(Message, Message.id == Attachment.message_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Attachment.id == attachment_id,
                    Message.direction.in_(("in", "out")),
                    Conversation.contact_id == visitor.contact_id,
                    Conversation.inbox_id == visitor.inbox.id,
                )
                .options(undefer(Attachment.data))
            )
        ).scalar_one_or_none()
        if row is None:
            raise ChatError("No such attachment.", status=404, code="not_found")
        _ = row.data  # load the deferred bytes inside the session
        session.expunge(row)
    return row
