"""Sign in and out with a password; the browser gets a session cookie and a CSRF token."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body
from sqlalchemy import select

from hub.auth import sessions
from hub.auth.middleware import csrf_token_for
from hub.auth.passwords import hash_password, needs_rehash, verify_password
from hub.auth.principal import Principal
from hub.db import session_scope, utcnow
from hub.models import User


class LoginIn(msgspec.Struct):
    email: str
    password: str


class MeOut(msgspec.Struct):
    id: int
    email: str
    name: str
    role: str
    inbox_ids: list[int] | None
    team_ids: list[int]
    csrf_token: str | None = None


async def check_password(email: str, password: str) -> int | None:
    async with session_scope() as session:
        user = (await session.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()
    # Argon2 is deliberately slow: verify off the event loop so sign-ins never stall other requests.
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    rehash = await asyncio.to_thread(hash_password, password) if needs_rehash(user.password_hash) else None
    async with session_scope() as session:
        user = await session.get(User, user.id)
        if user is None:
            return None
        if rehash:
            user.password_hash = rehash
        user.last_login_at = utcnow()
        return user.id


class SessionController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", opt={"public": True}, status_code=200)
    async def login(
        self, request: Request[Any, Any, Any], data: Annotated[LoginIn, Body(title="Credentials")]
    ) -> dict[str, Any]:
        """Start a cookie session. State-changing calls must then echo `csrf_token` in X-CSRF-Token."""
        user_id = await check_password(data.email, data.password)
        if user_id is None:
            raise NotAuthorizedException("Wrong email or password.")
        request.clear_session()
        request.set_session({"user_id": user_id})
        sessions.rotate(request)
        token = csrf_token_for(request.session)
        return {"user_id": user_id, "csrf_token": token}

    @post("/logout", status_code=200)
    async def logout(self, request: Request[Any, Any, Any]) -> dict[str, str]:
        request.clear_session()
        return {"status": "signed out"}

    @get("/me")
    async def me(self, request: Request[Principal, Any, Any]) -> MeOut:
        user = request.user
        csrf = csrf_token_for(request.session) if user.via == "session" else None
        return MeOut(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            inbox_ids=sorted(user.inbox_ids) if user.inbox_ids is not None else None,
            team_ids=sorted(user.team_ids),
            csrf_token=csrf,
        )
