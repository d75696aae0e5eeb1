"""What every channel hands to the hub: a verified, parsed, provider-neutral inbound message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class Identity(msgspec.Struct, frozen=True):
    """How a channel knows a person. `kind` is one of: email, phone, slack, visitor, external."""

    kind: str
    address: str
    verified: bool = False


class InboundAttachment(msgspec.Struct):
    filename: str
    content_type: str
    data: bytes | None = None  # the bytes, when the channel has them
    url: str | None = None  # or where the provider keeps them (fetched later)
    size: int | None = None


class InboundMessage(msgspec.Struct, kw_only=True):
    inbox_id: int
    provider_id: str  # the provider's id for this message; unique per inbox, makes retries idempotent
    sender: Identity
    text: str = ""
    html: str | None = None  # raw HTML from outside; the hub sanitises it before storing
    sender_name: str | None = None
    # More identities the channel has verified for the same person (widget HMAC email, Slack profile email).
    also_known_as: list[Identity] = msgspec.field(default_factory=list)
    subject: str | None = None
    # Conversation resolution, strongest first: a verified conversation id (email plus-address token),
    # provider ids of earlier messages this one answers (email References), a channel thread key.
    conversation_id: int | None = None
    thread_refs: list[str] = msgspec.field(default_factory=list)
    thread_key: str | None = None
    attachments: list[InboundAttachment] = msgspec.field(default_factory=list)
    sent_at: datetime | None = None
    # Channel-specific facts kept with the message (headers, Slack channel, auto-submitted flags ...).
    meta: dict[str, Any] = msgspec.field(default_factory=dict)
    # Set by channels for auto-replies, bounces and bulk mail: stored, but never answered automatically.
    automated: bool = False


class IngestResult(msgspec.Struct):
    message_id: int
    conversation_id: int
    contact_id: int
    created: bool  # False when this provider id was already stored (a retry)
    conversation_created: bool = False
