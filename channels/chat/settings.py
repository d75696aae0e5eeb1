"""Settings of a website chat inbox (what the widget shows and accepts) and its one secret."""

from __future__ import annotations

from typing import Literal

import msgspec

FieldKind = Literal["text", "email", "tel"]


class PrechatField(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # name: "name", "email", "phone" fill the contact; any other name is kept as a custom attribute.
    name: str
    label: str = ""
    type: FieldKind = "text"
    required: bool = False


class ChatInboxSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    greeting: str = "Hi! How can we help?"
    color: str = "#2563eb"
    title: str = "Chat with us"
    # Asked before the first message; empty means no form.
    prechat_fields: list[PrechatField] = msgspec.field(default_factory=list)
    # When nobody is online, the visitor leaves an email address and the message becomes an email
    # conversation in this inbox; unset keeps it in the chat inbox, tagged "offline".
    offline_email_inbox_id: int | None = None
    offline_message: str = "We're away right now. Leave your email and we'll reply there."
    # Sites allowed to embed the widget (e.g. "https://shop.example"); empty allows any site.
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    max_attachment_bytes: int = 5_242_880
    attachment_types: list[str] = msgspec.field(
        default_factory=lambda: ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"]
    )
    # Rate limits (per visitor and per client IP): requests or socket frames per minute.
    visitor_per_minute: int = 60
    ip_per_minute: int = 300
    sessions_per_ip_per_minute: int = 30


class ChatInboxCredentials(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Shared with the site's backend: identity_hmac = HMAC-SHA256(identity_secret, email), hex.
    identity_secret: str = ""


def chat_settings(raw: dict[str, object]) -> ChatInboxSettings:
    """Stored settings as the struct; anything unreadable falls back to defaults rather than breaking chat."""
    try:
        return msgspec.convert(raw, ChatInboxSettings, strict=False)
    except msgspec.ValidationError:
        known = {k: v for k, v in raw.items() if k in ChatInboxSettings.__struct_fields__}
        try:
            return msgspec.convert(known, ChatInboxSettings, strict=False)
        except msgspec.ValidationError:
            return ChatInboxSettings()
