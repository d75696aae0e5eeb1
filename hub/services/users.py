"""Users: anyone signed in may list colleagues (to assign and mention them); only admins create,
change or deactivate accounts. Passwords are stored as Argon2id hashes only."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.passwords import hash_password
from hub.auth.principal import Principal
from hub.db import session_scope, utcnow
from hub.identities import InvalidAddress, normalise_email
from hub.models import Inbox, InboxMember, Team, TeamMember, User
from hub.services.errors import Conflict, Invalid, NotFound
from hub.services.inboxes import check_zone

Role = Literal["admin", "manager", "agent"]
Availability = Literal["online", "away", "offline"]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=1024)]
Zone = Annotated[str, msgspec.Meta(max_length=64)]


class UserOut(msgspec.Struct):
    id: int
    email: str
    name: str
    role: str
    active: bool
    availability: str
    capacity: int
    time_zone: str
    created_at: datetime
    last_login_at: datetime | None
    team_ids: list[int] = msgspec.field(default_factory=list)
    inbox_ids: list[int] = msgspec.field(default_factory=list)


class UserCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    password: Password
    name: Annotated[str, msgspec.Meta(max_length=255)] = ""
    role: Role = "agent"
    capacity: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 10
    time_zone: Zone = "UTC"
    inbox_ids: list[Id] = msgspec.field(default_factory=list)
    team_ids: list[Id] = msgspec.field(default_factory=list)


class UserPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields present change; `inbox_ids`/`team_ids` replace the memberships."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)] | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    name: Annotated[str, msgspec.Meta(max_length=255)] | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    availability: Availability | UnsetType = UNSET
    capacity: Annotated[int, msgspec.Meta(ge=0, le=1000)] | UnsetType = UNSET
    time_zone: Zone | UnsetType = UNSET
    inbox_ids: list[Id] | UnsetType = UNSET
    team_ids: list[Id] | UnsetType = UNSET


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except InvalidAddress as exc:
        raise Invalid(f"{exc}; use an address like name@example.com.") from exc


def _zone(zone: str) -> str:
    return check_zone(zone)


async def _outs(session: AsyncSession, users: list[User]) -> list[UserOut]:
    ids = [u.id for u in users]
    teams: dict[int, list[int]] = {}
    inboxes: dict[int, list[int]] = {}
    if ids:
        for team_id, user_id in await session.execute(
            select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.user_id.in_(ids))
        ):
            teams.setdefault(user_id, []).append(team_id)
        for inbox_id, user_id in await session.execute(
            select(InboxMember.inbox_id, InboxMember.user_id).where(InboxMember.user_id.in_(ids))
        ):
            inboxes.setdefault(user_id, []).append(inbox_id)
    return [
        UserOut(
            id=u.id,
            email=u.email,
            name=u.name,
            role=u.role,
            active=u.active,
            availability=u.availability,
            capacity=u.capacity,
            time_zone=u.time_zone,
            created_at=u.created_at,
            last_login_at=u.last_login_at,
            team_ids=sorted(teams.get(u.id, [])),
            inbox_ids=sorted(inboxes.get(u.id, [])),
        )
        for u in users
    ]


async def list_users(*, include_inactive: bool) -> list[UserOut]:
    async with session_scope() as session:
        query = select(User).order_by(User.name, User.id)
        if not include_inactive:
            query = query.where(User.active.is_(True))
        return await _outs(session, list((await session.execute(query)).scalars()))


async def get_user(user_id: int) -> UserOut:
    async with session_scope() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("User not found")
        return (await _outs(session, [user]))[0]


async def _set_memberships(
    session: AsyncSession, user_id: int, inbox_ids: list[int] | None, team_ids: list[int] | None
) -> None:
    if inbox_ids is not None:
        wanted = set(inbox_ids)
        found = await session.execute(select(Inbox.id).where(Inbox.id.in_(wanted))) if wanted else None
        known = set(found.scalars()) if found is not None else set()
        if wanted - known:
            raise Invalid(f"Unknown inbox id(s) {sorted(wanted - known)}; list inboxes at /api/v1/inboxes.")
        await session.execute(delete(InboxMember).where(InboxMember.user_id == user_id))
        for inbox_id in sorted(wanted):
            session.add(InboxMember(inbox_id=inbox_id, user_id=user_id))
    if team_ids is not None:
        wanted = set(team_ids)
        known = set((await session.execute(select(Team.id).where(Team.id.in_(wanted)))).scalars()) if wanted else set()
        if wanted - known:
            raise Invalid(f"Unknown team id(s) {sorted(wanted - known)}; list teams at /api/v1/teams.")
        await session.execute(delete(TeamMember).where(TeamMember.user_id == user_id))
        for team_id in sorted(wanted):
            session.add(TeamMember(team_id=team_id, user_id=user_id))


async def create_user(data: UserCreate) -> UserOut:
    email = _email(data.email)
    zone = _zone(data.time_zone)
    password_hash = await asyncio.to_thread(hash_password, data.password)  # ~100 ms of CPU: off the loop
    try:
        async with session_scope() as session:
            if (await session.execute(select(User.id).where(User.email == email))).first() is not None:
                raise Conflict(f"A user with email {email} already exists.")
            user = User(
                email=email,
                name=data.name.strip(),
                role=data.role,
                password_hash=password_hash,
                capacity=data.capacity,
                time_zone=zone,
            )
            session.add(user)
            await session.flush()
            await _set_memberships(session, user.id, data.inbox_ids, data.team_ids)
            await session.flush()
            return (await _outs(session, [user]))[0]
    except IntegrityError as exc:
        raise Conflict(f"A user with email {email} already exists.") from exc


async def update_user(principal: Principal, user_id: int, patch: UserPatch) -> UserOut:
    new_hash = None if patch.password is UNSET else await asyncio.to_thread(hash_password, patch.password)
    try:
        async with session_scope() as session:
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                raise NotFound("User not found")
            if user.id == principal.id and (patch.active is False or (patch.role not in (UNSET, "admin"))):
                raise Invalid("You cannot deactivate or demote yourself; ask another admin.")
            if patch.email is not UNSET:
                email = _email(patch.email)
                clash = (await session.execute(select(User.id).where(User.email == email, User.id != user.id))).first()
                if clash is not None:
                    raise Conflict(f"A user with email {email} already exists.")
                user.email = email
            if new_hash is not None:
                user.password_hash = new_hash
            if patch.name is not UNSET:
                user.name = patch.name.strip()
            if patch.role is not UNSET:
                user.role = patch.role
            if patch.active is not UNSET:
                user.active = patch.active
            if patch.availability is not UNSET:
                user.availability = patch.availability
            if patch.capacity is not UNSET:
                user.capacity = patch.capacity
            if patch.time_zone is not UNSET:
                user.time_zone = _zone(patch.time_zone)
            await _set_memberships(
                session,
                user.id,
                None if patch.inbox_ids is UNSET else patch.inbox_ids,
                None if patch.team_ids is UNSET else patch.team_ids,
            )
            user.updated_at = utcnow()
            await session.flush()
            return (await _outs(session, [user]))[0]
    except IntegrityError as exc:
        raise Conflict("That change clashes with another user (duplicate email).") from exc


async def deactivate_user(principal: Principal, user_id: int) -> UserOut:
    """Users are never deleted (their names stay on the timeline); they lose access at once."""
    if user_id == principal.id:
        raise Invalid("You cannot deactivate yourself; ask another admin.")
    return await update_user(principal, user_id, UserPatch(active=False))
