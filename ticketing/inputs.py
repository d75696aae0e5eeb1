"""Bounded input types for ticketing's API structs: what the columns can hold, checked before any query.

A value the database cannot store (an id past 64 bits, a name longer than its column, a NUL character that
PostgreSQL text refuses, a position past 32 bits) would otherwise surface as a 500 from the driver; with
these types msgspec answers 400 and names the field.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from hub.api.params import MAX_ID

NO_NUL = r"^[^\x00]*$"

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID, description="An id (1 to 2**62).")]
Name = Annotated[str, msgspec.Meta(max_length=120, pattern=NO_NUL)]
ZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL, description="IANA time zone")]
Shortcut = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
Title = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000, pattern=NO_NUL)]
Word = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
Position = Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)]
Seconds = Annotated[int, msgspec.Meta(le=10 * 366 * 86_400, description="Seconds (up to ten years).")]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=10 * 366 * 1_440, description="Minutes (up to ten years).")]


def find_nul(value: Any) -> bool:
    """Whether a NUL character hides anywhere in a decoded JSON value (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(find_nul(k) or find_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(find_nul(v) for v in value)
    return False
