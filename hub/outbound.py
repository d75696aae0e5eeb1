"""What the hub hands a channel to deliver, and what the channel answers."""

from __future__ import annotations

from typing import Any

import msgspec

from hub.inbound import Identity


class OutboundAttachment(msgspec.Struct):
    filename: str
    content_type: str
    data: bytes


class InboxConfig(msgspec.Struct, frozen=True):
    """An inbox as a channel sees it: settings plus decrypted credentials. Never sent to a browser."""

    id: int
    name: str
    channel: str
    public_token: str
    settings: dict[str, Any]
    credentials: dict[str, Any]
    team_id: int | None = None
    time_zone: str = "UTC"
    active: bool = True


class OutboundMessage(msgspec.Struct, kw_only=True):
    message_id: int
    conversation_id: int
    inbox: InboxConfig
    to: Identity  # the contact's identity on this inbox's channel
    text: str
    html: str | None = None
    subject: str | None = None
    thread_key: str | None = None
    # Provider ids of the conversation's earlier messages, oldest first (email References, Slack thread).
    thread_refs: list[str] = msgspec.field(default_factory=list)
    attachments: list[OutboundAttachment] = msgspec.field(default_factory=list)
    author_name: str | None = None
    conversation_meta: dict[str, Any] = msgspec.field(default_factory=dict)
    # Unique per message and stable across retries: send it to providers that deduplicate on it.
    idempotency_key: str = ""
    automated: bool = False  # CSAT requests and other system messages


class SendResult(msgspec.Struct):
    provider_id: str | None = None
    status: str = "sent"  # or "delivered" when the provider confirms synchronously
    meta: dict[str, Any] = msgspec.field(default_factory=dict)


class DeliveryError(Exception):
    """Raised by a channel's sender. `retry` says whether trying again later can help."""

    def __init__(self, reason: str, *, retry: bool, retry_after: float | None = None, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.retry_after = retry_after
        self.code = code
