"""Loading a principal from a session's user id or a bearer token."""

from __future__ import annotations

from sqlalchemy import select, update

from hub.auth import cache
from hub.auth.principal import Principal
from hub.crypto import token_hash
from hub.db import session_scope, utcnow
from hub.models import ApiToken, InboxMember, TeamMember, User


async def principal_for_user(user_id: int, via: str = "session") -> Principal | None:
    found, cached = cache.principals.get(("user", user_id, via))
    if found:
        return cached
    principal = await _load_user(user_id, via)
    cache.principals.put(("user", user_id, via), principal)
    return principal


async def _load_user(user_id: int, via: str) -> Principal | None:
    async with session_scope() as session:
        user = await session.get(User, user_id)
        if user is None or not user.active:
            return None
        team_ids = frozenset(
            (await session.execute(select(TeamMember.team_id).where(TeamMember.user_id == user.id))).scalars()
        )
        inbox_ids: frozenset[int] | None = None
        if user.role == "agent":
            inbox_ids = frozenset(
                (await session.execute(select(InboxMember.inbox_id).where(InboxMember.user_id == user.id))).scalars()
            )
        return Principal(user.id, user.email, user.name, user.role, inbox_ids, team_ids, via)


async def principal_for_token(token: str) -> Principal | None:
    digest = token_hash(token)
    found, cached = cache.principals.get(("token", digest))
    if found:
        return cached
    principal = await _load_token(digest)
    cache.principals.put(("token", digest), principal)
    return principal


async def _load_token(digest: str) -> Principal | None:
    async with session_scope() as session:
        row = (
            await session.execute(
                select(ApiToken.id, ApiToken.user_id).where(
                    ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)
                )
            )
        ).first()
        if row is None:
            return None
        # Core-level, so recording use does not count as a change that clears the principal cache.
        connection = await session.connection()
        await connection.execute(update(ApiToken).where(ApiToken.id == row[0]).values(last_used_at=utcnow()))
    return await _load_user(row[1], via="token")
