"""Settings of a generic API inbox: where replies are POSTed, and the shared secret both ways."""

from __future__ import annotations

import msgspec


class ApiInboxSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Agent replies are POSTed here as signed JSON; leave empty to keep replies in the hub only.
    callback_url: str = ""
    timeout_seconds: float = 10.0


class ApiInboxCredentials(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    hmac_secret: str
