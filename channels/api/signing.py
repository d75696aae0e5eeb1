"""HMAC-SHA256 over the raw body, sent as `X-Hub-Signature: sha256=<hex>` in both directions."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "x-hub-signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(signature(secret, body), str(header))
