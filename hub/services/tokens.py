"""Personal API tokens for integrations. Only a SHA-256 of each token is stored; the token itself is
shown once, in the answer to its creation."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

import msgspec
from sqlalchemy import select

from hub.auth.principal import Principal
from hub.crypto import token_hash
from hub.db import session_scope, utcnow
from hub.models import ApiToken
from hub.services.errors import NotFound


class TokenCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"\S")]


class TokenOut(msgspec.Struct):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(msgspec.Struct):
    """`token` appears only here: store it now, it cannot be shown again."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    token: str


def _out(t: ApiToken) -> TokenOut:
    return TokenOut(t.id, t.user_id, t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at)


async def create_token(principal: Principal, data: TokenCreate) -> NewTokenOut:
    token = "hub_" + secrets.token_urlsafe(32)
    async with session_scope() as session:
        row = ApiToken(user_id=principal.id, name=data.name.strip(), token_hash=token_hash(token), prefix=token[:8])
        session.add(row)
        await session.flush()
        return NewTokenOut(row.id, row.user_id, row.name, row.prefix, row.created_at, token)


async def list_tokens(principal: Principal) -> list[TokenOut]:
    async with session_scope() as session:
        rows = await session.execute(
            select(ApiToken).where(ApiToken.user_id == principal.id).order_by(ApiToken.id.desc())
        )
        return [_out(t) for t in rows.scalars()]


async def revoke_token(principal: Principal, token_id: int) -> TokenOut:
    """Revoking is idempotent. Admins may revoke anyone's token; others only their own (else 404)."""
    async with session_scope() as session:
        row = await session.get(ApiToken, token_id)
        if row is None or (row.user_id != principal.id and not principal.at_least("admin")):
            raise NotFound("Token not found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        await session.flush()
        return _out(row)
