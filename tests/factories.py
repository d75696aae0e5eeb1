"""Small helpers that create users, inboxes and sessions for tests, each with unique names."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from hub.auth.passwords import hash_password
from hub.crypto import token_hash
from hub.db import session_scope
from hub.inboxes import invalidate
from hub.models import ApiToken, Inbox, InboxMember, Team, TeamMember, User

PASSWORD = "correct horse battery staple"
_HASH: str | None = None


def unique(prefix: str = "x") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def make_user(
    role: str = "agent", inbox_ids: list[int] | None = None, team_ids: list[int] | None = None, **fields: Any
) -> User:
    global _HASH
    _HASH = _HASH or hash_password(PASSWORD)
    async with session_scope() as session:
        user = User(
            email=f"{unique(role)}@example.test",
            name=fields.pop("name", role.title()),
            role=role,
            password_hash=_HASH,
            **fields,
        )
        session.add(user)
        await session.flush()
        for inbox_id in inbox_ids or []:
            session.add(InboxMember(inbox_id=inbox_id, user_id=user.id))
        for team_id in team_ids or []:
            session.add(TeamMember(team_id=team_id, user_id=user.id))
    return user


async def make_team(name: str | None = None) -> Team:
    async with session_scope() as session:
        team = Team(name=name or unique("team"))
        session.add(team)
    return team


async def make_inbox(
    channel: str = "api",
    settings: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
    **fields: Any,
) -> Inbox:
    async with session_scope() as session:
        inbox = Inbox(
            name=fields.pop("name", unique(channel)),
            channel=channel,
            public_token=secrets.token_urlsafe(18),
            settings=settings or {},
            credentials=credentials or {},
            **fields,
        )
        session.add(inbox)
    invalidate()
    return inbox


async def make_token(user: User) -> str:
    token = "hub_" + secrets.token_urlsafe(32)
    async with session_scope() as session:
        session.add(ApiToken(user_id=user.id, name="test", token_hash=token_hash(token), prefix=token[:8]))
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def auth_headers(user: User) -> dict[str, str]:
    return bearer(await make_token(user))


async def login(client: httpx.AsyncClient, user: User) -> str:
    """Sign in with the cookie session; returns the CSRF token to send in X-CSRF-Token."""
    resp = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["csrf_token"])
