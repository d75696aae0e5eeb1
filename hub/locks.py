"""Transaction-scoped advisory locks on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


def lock_key(*parts: object) -> int:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def xact_lock(session: AsyncSession, *keys: int) -> None:
    """Take the keys in a fixed order so two transactions never wait on each other in a cycle."""
    if session.bind is None or session.bind.dialect.name != "postgresql" or not keys:
        return
    ordered = sorted(set(keys))
    await session.execute(select(*[func.pg_advisory_xact_lock(k) for k in ordered]))
