"""Transaction-scoped advisory locks on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_LOCK_ALL = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS BIGINT[])) AS k")


def lock_key(*parts: object) -> int:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def xact_lock(session: AsyncSession, *keys: int) -> None:
    """Take the keys in a fixed order so two transactions never wait on each other in a cycle."""
    if session.bind is None or session.bind.dialect.name != "postgresql" or not keys:
        return
    # One statement shape for any number of keys (an array parameter), so it is prepared once per connection
    # instead of once per batch size; unnest yields the sorted keys in order, and each lock is taken in turn.
    await session.execute(_LOCK_ALL, {"keys": sorted(set(keys))})
