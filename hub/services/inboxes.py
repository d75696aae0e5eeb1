"""Inbox administration. Settings and credentials are validated against the channel's own msgspec types
when saved, so a typo is a 400 now rather than a failed delivery later. Credentials never leave the hub:
readers learn only which credential keys are set."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import extension, inboxes
from hub.auth.principal import Principal
from hub.db import session_scope, utcnow
from hub.models import Conversation, Inbox, InboxMember, Team, User
from hub.services.access import inbox_clause
from hub.services.errors import Conflict, Invalid, NotFound

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]


class InboxOut(msgspec.Struct):
    id: int
    name: str
    channel: str
    public_token: str
    settings: dict[str, Any]
    credential_keys: list[str]
    team_id: int | None
    time_zone: str
    active: bool
    created_at: datetime
    updated_at: datetime


class InboxCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    channel: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    credentials: dict[str, Any] = msgspec.field(default_factory=dict)
    team_id: Id | None = None
    time_zone: Annotated[str, msgspec.Meta(max_length=64)] = "UTC"
    active: bool = True


class InboxPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`settings` and `credentials` are merged key by key onto what is stored; a `null` value removes a key."""

    name: Name | UnsetType = UNSET
    settings: dict[str, Any] | UnsetType = UNSET
    credentials: dict[str, Any] | UnsetType = UNSET
    team_id: Id | UnsetType | None = UNSET
    time_zone: Annotated[str, msgspec.Meta(max_length=64)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    # Issue a new public token (old widget embeds and webhook URLs stop working).
    rotate_public_token: bool = False


class MembersIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The complete list of members; anyone not listed is removed."""

    user_ids: Annotated[list[Id], msgspec.Meta(max_length=10_000)]


class MembersOut(msgspec.Struct):
    user_ids: list[int]


def inbox_out(inbox: Inbox) -> InboxOut:
    return InboxOut(
        id=inbox.id,
        name=inbox.name,
        channel=inbox.channel,
        public_token=inbox.public_token,
        settings=dict(inbox.settings or {}),
        credential_keys=sorted(k for k, v in (inbox.credentials or {}).items() if v not in (None, "")),
        team_id=inbox.team_id,
        time_zone=inbox.time_zone,
        active=inbox.active,
        created_at=inbox.created_at,
        updated_at=inbox.updated_at,
    )


def _validated(kind: str, what: str, struct: type[msgspec.Struct] | None, value: dict[str, Any]) -> dict[str, Any]:
    if struct is None:
        return value
    try:
        converted = msgspec.convert(value, struct, strict=False)
    except msgspec.ValidationError as exc:
        raise Invalid(f"Invalid {what} for a {kind} inbox: {exc}.") from exc
    result: dict[str, Any] = msgspec.to_builtins(converted)
    return result


def _channel(kind: str) -> extension.ChannelSpec:
    spec = extension.channels().get(kind)
    if spec is None:
        installed = ", ".join(sorted(extension.channels())) or "none"
        raise Invalid(f"There is no {kind!r} channel installed; use one of: {installed}.")
    return spec


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(zone: str) -> str:
    """Only IANA names are accepted (a lookup in the known set: no file-system paths reach zoneinfo)."""
    if zone not in _zones():
        raise Invalid(f"{zone!r} is not a time zone; use an IANA name such as Europe/Paris or UTC.")
    return zone


def _merge(stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(stored)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def list_inboxes(principal: Principal) -> list[InboxOut]:
    async with session_scope() as session:
        query = select(Inbox).where(inbox_clause(principal, Inbox.id)).order_by(Inbox.id)
        rows = (await session.execute(query)).scalars()
        return [inbox_out(i) for i in rows]


async def _visible(principal: Principal, session: AsyncSession, inbox_id: int, *, lock: bool = False) -> Inbox:
    """`lock` holds the row until commit, so concurrent edits (member lists) apply one after the other."""
    inbox: Inbox | None = await session.get(Inbox, inbox_id, with_for_update=lock)
    if inbox is None or not principal.can_see_inbox(inbox.id):
        raise NotFound("Inbox not found")
    return inbox


async def get_inbox(principal: Principal, inbox_id: int) -> InboxOut:
    async with session_scope() as session:
        return inbox_out(await _visible(principal, session, inbox_id))


async def _check_team(session: AsyncSession, team_id: int | None) -> None:
    if team_id is not None and await session.get(Team, team_id) is None:
        raise Invalid(f"There is no team {team_id}; list teams at /api/v1/teams.")


async def create_inbox(data: InboxCreate) -> InboxOut:
    spec = _channel(data.channel)
    settings = _validated(data.channel, "settings", spec.settings_type, data.settings)
    credentials = _validated(data.channel, "credentials", spec.credentials_type, data.credentials)
    async with session_scope() as session:
        await _check_team(session, data.team_id)
        inbox = Inbox(
            name=data.name.strip(),
            channel=data.channel,
            public_token=secrets.token_urlsafe(18),
            settings=settings,
            credentials=credentials,
            team_id=data.team_id,
            time_zone=check_zone(data.time_zone),
            active=data.active,
        )
        session.add(inbox)
        await session.flush()
        out = inbox_out(inbox)
    inboxes.invalidate(out.id)
    return out


async def update_inbox(principal: Principal, inbox_id: int, patch: InboxPatch) -> InboxOut:
    async with session_scope() as session:
        inbox = await _visible(principal, session, inbox_id, lock=True)
        # The channel's schema is needed only to change its settings, so an inbox of an uninstalled channel
        # can still be renamed or deactivated.
        spec = _channel(inbox.channel) if patch.settings is not UNSET or patch.credentials is not UNSET else None
        if patch.name is not UNSET:
            inbox.name = patch.name.strip()
        if patch.settings is not UNSET and spec is not None:
            inbox.settings = _validated(
                inbox.channel, "settings", spec.settings_type, _merge(inbox.settings or {}, patch.settings)
            )
        if patch.credentials is not UNSET and spec is not None:
            inbox.credentials = _validated(
                inbox.channel, "credentials", spec.credentials_type, _merge(inbox.credentials or {}, patch.credentials)
            )
        if patch.team_id is not UNSET:
            await _check_team(session, patch.team_id)
            inbox.team_id = patch.team_id
        if patch.time_zone is not UNSET:
            inbox.time_zone = check_zone(patch.time_zone)
        if patch.active is not UNSET:
            inbox.active = patch.active
        if patch.rotate_public_token:
            inbox.public_token = secrets.token_urlsafe(18)
        inbox.updated_at = utcnow()
        await session.flush()
        out = inbox_out(inbox)
    inboxes.invalidate(inbox_id)
    return out


async def delete_inbox(inbox_id: int) -> None:
    """Only an unused inbox can be deleted; one with conversations is retired with active=false instead,
    so no customer history is ever lost by a click."""
    async with session_scope() as session:
        inbox = await session.get(Inbox, inbox_id)
        if inbox is None:
            raise NotFound("Inbox not found")
        used = (await session.execute(select(exists().where(Conversation.inbox_id == inbox_id)))).scalar()
        if used:
            raise Conflict("This inbox has conversations; deactivate it (PATCH active=false) instead of deleting.")
        await session.delete(inbox)
    inboxes.invalidate(inbox_id)


async def get_members(principal: Principal, inbox_id: int) -> MembersOut:
    async with session_scope() as session:
        await _visible(principal, session, inbox_id)
        rows = await session.execute(
            select(InboxMember.user_id).where(InboxMember.inbox_id == inbox_id).order_by(InboxMember.user_id)
        )
        return MembersOut(user_ids=list(rows.scalars()))


async def set_members(principal: Principal, inbox_id: int, data: MembersIn) -> MembersOut:
    wanted = set(data.user_ids)
    async with session_scope() as session:
        await _visible(principal, session, inbox_id, lock=True)
        known = set((await session.execute(select(User.id).where(User.id.in_(wanted)))).scalars()) if wanted else set()
        missing = sorted(wanted - known)
        if missing:
            raise Invalid(f"Unknown user id(s) {missing}; list users at /api/v1/users.")
        current = set(
            (await session.execute(select(InboxMember.user_id).where(InboxMember.inbox_id == inbox_id))).scalars()
        )
        gone = current - wanted
        if gone:
            await session.execute(
                delete(InboxMember).where(InboxMember.inbox_id == inbox_id, InboxMember.user_id.in_(gone))
            )
        for user_id in sorted(wanted - current):
            session.add(InboxMember(inbox_id=inbox_id, user_id=user_id))
    return MembersOut(user_ids=sorted(wanted))
