"""Teams group agents for routing and reports; managers and admins maintain them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import session_scope, utcnow
from hub.models import Team, TeamMember, User
from hub.services.errors import Conflict, Invalid, NotFound

Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"\S")]
Description = Annotated[str, msgspec.Meta(max_length=500)]


class TeamOut(msgspec.Struct):
    id: int
    name: str
    description: str
    member_ids: list[int]
    created_at: datetime
    updated_at: datetime


class TeamCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    description: Description = ""
    member_ids: list[Id] = msgspec.field(default_factory=list)


class TeamPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    description: Description | UnsetType = UNSET


class TeamMembersIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The complete list of members; anyone not listed is removed."""

    user_ids: Annotated[list[Id], msgspec.Meta(max_length=10_000)]


async def _members(session: AsyncSession, team_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    if team_ids:
        rows = await session.execute(
            select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.team_id.in_(team_ids))
        )
        for team_id, user_id in rows:
            found.setdefault(team_id, []).append(user_id)
    return found


def _out(team: Team, members: list[int]) -> TeamOut:
    return TeamOut(team.id, team.name, team.description, sorted(members), team.created_at, team.updated_at)


async def list_teams() -> list[TeamOut]:
    async with session_scope() as session:
        teams = list((await session.execute(select(Team).order_by(Team.name))).scalars())
        members = await _members(session, [t.id for t in teams])
        return [_out(t, members.get(t.id, [])) for t in teams]


async def _get(session: AsyncSession, team_id: int, *, lock: bool = False) -> Team:
    team = await session.get(Team, team_id, with_for_update=lock)
    if team is None:
        raise NotFound("Team not found")
    return team


async def get_team(team_id: int) -> TeamOut:
    async with session_scope() as session:
        team = await _get(session, team_id)
        return _out(team, (await _members(session, [team.id])).get(team.id, []))


async def _replace_members(session: AsyncSession, team_id: int, user_ids: list[int]) -> list[int]:
    wanted = set(user_ids)
    known = set((await session.execute(select(User.id).where(User.id.in_(wanted)))).scalars()) if wanted else set()
    if wanted - known:
        raise Invalid(f"Unknown user id(s) {sorted(wanted - known)}; list users at /api/v1/users.")
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
    for user_id in sorted(wanted):
        session.add(TeamMember(team_id=team_id, user_id=user_id))
    return sorted(wanted)


async def _name_free(session: AsyncSession, name: str, team_id: int | None = None) -> None:
    query = select(Team.id).where(Team.name == name)
    if team_id is not None:
        query = query.where(Team.id != team_id)
    if (await session.execute(query)).first() is not None:
        raise Conflict(f"A team named {name!r} already exists; pick another name.")


async def create_team(data: TeamCreate) -> TeamOut:
    name = data.name.strip()
    try:
        async with session_scope() as session:
            await _name_free(session, name)
            team = Team(name=name, description=data.description.strip())
            session.add(team)
            await session.flush()
            members = await _replace_members(session, team.id, data.member_ids)
            await session.flush()
            return _out(team, members)
    except IntegrityError as exc:
        raise Conflict(f"A team named {name!r} already exists; pick another name.") from exc


async def update_team(team_id: int, patch: TeamPatch) -> TeamOut:
    try:
        async with session_scope() as session:
            team = await _get(session, team_id, lock=True)
            if patch.name is not UNSET:
                await _name_free(session, patch.name.strip(), team.id)
                team.name = patch.name.strip()
            if patch.description is not UNSET:
                team.description = patch.description.strip()
            team.updated_at = utcnow()
            await session.flush()
            return _out(team, (await _members(session, [team.id])).get(team.id, []))
    except IntegrityError as exc:
        raise Conflict("A team with that name already exists; pick another name.") from exc


async def delete_team(team_id: int) -> None:
    """Conversations and inboxes of the team keep working; their team becomes empty (SET NULL)."""
    async with session_scope() as session:
        await _get(session, team_id)
        await session.execute(delete(Team).where(Team.id == team_id))


async def set_members(team_id: int, data: TeamMembersIn) -> TeamOut:
    async with session_scope() as session:
        team = await _get(session, team_id, lock=True)
        members = await _replace_members(session, team.id, data.user_ids)
        return _out(team, members)
