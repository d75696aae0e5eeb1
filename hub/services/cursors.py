"""Opaque keyset cursors: the last row's sort key, JSON-encoded and base64'd so clients never build them."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec

from hub.services.errors import Invalid

T = TypeVar("T")
# Ids and times inside cursors are bounded like path ids, so a forged cursor is a 400, never a database error.
Id = Annotated[int, msgspec.Meta(ge=0, le=2**62)]
Time = Annotated[datetime, msgspec.Meta(tz=True)]


def encode(*parts: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(parts))).rstrip(b"=").decode()


def decode(cursor: str, shape: type[T]) -> T:
    """Decode a cursor into `shape` (a tuple type); a tampered or stale cursor is a 400, never a 500."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=shape)
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Invalid("The cursor is malformed or from another listing; start again without it.") from exc
