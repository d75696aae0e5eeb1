"""Visitor tokens: `v1.<inbox id>.<visitor id>.<issued>.<hmac>`, verified without any lookup.

The widget keeps the token in the host page's localStorage and sends it explicitly (query string,
form field), so no cookie from the hub's domain is ever needed.
"""

from __future__ import annotations

import secrets
import time

import msgspec

from hub import crypto

PURPOSE = "chat-visitor-token"
MAX_AGE = 365 * 24 * 3600


class VisitorToken(msgspec.Struct, frozen=True):
    inbox_id: int
    visitor_id: str
    issued: int


class BadToken(ValueError):
    pass


def new_visitor_id() -> str:
    return secrets.token_urlsafe(16)


def issue(inbox_id: int, visitor_id: str, *, now: float | None = None) -> str:
    body = f"v1.{inbox_id}.{visitor_id}.{int(now if now is not None else time.time())}"
    return f"{body}.{crypto.sign(PURPOSE, body)}"


def read(token: str, *, now: float | None = None) -> VisitorToken:
    """The token's claims; BadToken (a 401 for the caller) when forged, malformed or too old."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != "v1":
        raise BadToken("The visitor token is malformed; start a new chat session.")
    body, signature = ".".join(parts[:4]), parts[4]
    if not crypto.verify(PURPOSE, body, signature):
        raise BadToken("The visitor token is not valid for this hub; start a new chat session.")
    try:
        inbox_id, issued = int(parts[1]), int(parts[3])
    except ValueError as exc:
        raise BadToken("The visitor token is malformed; start a new chat session.") from exc
    if (now if now is not None else time.time()) - issued > MAX_AGE:
        raise BadToken("The visitor token has expired; start a new chat session.")
    return VisitorToken(inbox_id, parts[2], issued)
