"""Secrets at rest: inbox credentials are stored Fernet-encrypted with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_fernet: Fernet | None = None
_secret: bytes = b""


def configure(secret_key: str) -> None:
    global _fernet, _secret
    _secret = secret_key.encode()
    derived = hashlib.sha256(b"hub-at-rest:" + _secret).digest()
    _fernet = Fernet(base64.urlsafe_b64encode(derived))


def _require() -> Fernet:
    if _fernet is None:
        raise RuntimeError("hub.crypto.configure(secret_key) must run before secrets are read or written")
    return _fernet


def encrypt(plaintext: bytes) -> str:
    return _require().encrypt(plaintext).decode()


def decrypt(token: str) -> bytes:
    try:
        return _require().decrypt(token.encode())
    except InvalidToken as exc:
        raise ValueError("Stored secret cannot be decrypted: SECRET_KEY changed since it was saved.") from exc


def sign(purpose: str, value: str) -> str:
    """An HMAC for values the hub hands out and later checks (visitor tokens, unsubscribe links...)."""
    key = hmac.new(_secret or b"unset", purpose.encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def verify(purpose: str, value: str, signature: str) -> bool:
    return hmac.compare_digest(sign(purpose, value), signature)


def body_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, raw body)>`: how webhooks are signed in and out of the hub."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(body_signature(secret, body), header.strip().lower())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class EncryptedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object stored as one Fernet token; readable only with the hub's SECRET_KEY."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return encrypt(json.dumps(value, separators=(",", ":")).encode())

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        data: dict[str, Any] = json.loads(decrypt(value))
        return data
