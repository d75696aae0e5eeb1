"""What an email inbox is configured with; validated when the inbox is saved.

Non-secret settings live in `Inbox.settings`, secrets (SMTP/IMAP passwords, the MTA webhook secret) in the
encrypted `Inbox.credentials`. Both are read through `load_settings` / `load_credentials`, which tolerate
inboxes saved before a field existed (defaults apply) so a new release never breaks an old inbox.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import msgspec

TlsMode = Literal["none", "starttls", "tls"]

DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024
# Types that are never stored as separate attachments (they stay inside original.eml only).
DEFAULT_BLOCKED_TYPES = [
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-dosexec",
    "application/x-executable",
    "application/vnd.microsoft.portable-executable",
    "application/x-sh",
    "application/x-bat",
]
DEFAULT_BLOCKED_EXTENSIONS = [".exe", ".bat", ".cmd", ".com", ".scr", ".pif", ".vbs", ".js", ".jar", ".msi", ".ps1"]


def server_max_message_bytes() -> int:
    """The listener-wide size limit (SMTP SIZE, webhook body); one inbox may only lower it."""
    raw = os.environ.get("HUB_EMAIL_MAX_MESSAGE_BYTES", "")
    return int(raw) if raw.isdigit() else DEFAULT_MAX_MESSAGE_BYTES


class EmailSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # The inbox's address, e.g. support@acme.test. Mail to support+anything@acme.test reaches it too,
    # and replies carry a signed conversation token as support+c<conversation>.<sig>@acme.test.
    address: str
    aliases: list[str] = msgspec.field(default_factory=list)
    from_name: str | None = None  # display name on outbound mail; default: the agent's name
    # Outbound SMTP relay.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_tls: TlsMode = "none"
    smtp_username: str | None = None
    smtp_validate_certs: bool = True
    smtp_timeout: float = 30.0
    # Optional IMAP mailbox the hub polls.
    imap_host: str | None = None
    imap_port: int = 993
    imap_ssl: bool = True
    imap_username: str | None = None
    imap_folder: str = "INBOX"
    imap_poll_seconds: int = 60
    # Limits for inbound mail.
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_attachment_bytes: int = 10 * 1024 * 1024
    blocked_attachment_types: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_BLOCKED_TYPES))
    blocked_attachment_extensions: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_BLOCKED_EXTENSIONS))
    # Keep the received message whole as an `original.eml` attachment (retrievable from the API).
    keep_original: bool = True

    def __post_init__(self) -> None:
        address = self.address.strip().lower()
        local, _, domain = address.partition("@")
        if not local or not domain or "+" in local or " " in address:
            raise ValueError(f"address {self.address!r} must be a plain mailbox like support@example.com")
        self.address = address
        self.aliases = [a.strip().lower() for a in self.aliases if a.strip()]
        if not 0 < self.smtp_port < 65536 or not 0 < self.imap_port < 65536:
            raise ValueError("smtp_port and imap_port must be TCP ports (1-65535)")
        if self.imap_poll_seconds < 1:
            raise ValueError("imap_poll_seconds must be at least 1")
        if self.max_message_bytes < 1024:
            raise ValueError("max_message_bytes must be at least 1024")

    @property
    def domain(self) -> str:
        return self.address.partition("@")[2]

    @property
    def local_part(self) -> str:
        return self.address.partition("@")[0]


class EmailCredentials(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    smtp_password: str | None = None
    imap_password: str | None = None
    # `Authorization: Bearer <webhook_secret>` (or an HMAC of the body with it) on /webhooks/email/{inbox}/raw.
    webhook_secret: str | None = None


def load_settings(raw: dict[str, Any]) -> EmailSettings:
    return msgspec.convert(raw, EmailSettings, strict=False)


def load_credentials(raw: dict[str, Any]) -> EmailCredentials:
    return msgspec.convert(raw or {}, EmailCredentials, strict=False)
