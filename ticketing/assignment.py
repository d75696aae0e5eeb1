"""Auto-assignment inside a team: round robin or least loaded, within each agent's capacity and presence.

Eligible agents are the team's active members whose availability is `online`; `away` agents are used only
when no online agent has room, and `offline` agents get nothing. Load is the number of open or pending
conversations assigned to the agent; an agent at `capacity` is skipped. A conversation nobody can take
stays unassigned in the team's queue (oldest first) and is handed out when a slot frees up: a conversation
is resolved, closed, snoozed or unassigned, or an agent comes online.

A transaction-scoped lock per team (PostgreSQL advisory lock; SQLite serialises writers) makes two
processes never hand the same slot out twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import session_scope
from hub.locks import lock_key, xact_lock
from hub.models import Conversation, TeamMember, User
from ticketing import service
from ticketing.models import TeamAssignment
from ticketing.service import Actor, Outbox

log = logging.getLogger("ticketing.assignment")
MODES = ("none", "round_robin", "least_loaded")
ACTIVE = ("open", "pending")
ACTOR = Actor("assignment")


async def _candidates(session: AsyncSession, team_id: int) -> list[tuple[int, str, int, int]]:
    """(user id, availability, capacity, load) of the team's active members, by id."""
    load = (
        select(Conversation.assignee_id, func.count().label("n"))
        .where(Conversation.status.in_(ACTIVE), Conversation.assignee_id.is_not(None))
        .group_by(Conversation.assignee_id)
        .subquery()
    )
    rows = await session.execute(
        select(User.id, User.availability, User.capacity, func.coalesce(load.c.n, 0))
        .join(TeamMember, TeamMember.user_id == User.id)
        .outerjoin(load, load.c.assignee_id == User.id)
        .where(TeamMember.team_id == team_id, User.active.is_(True))
        .order_by(User.id)
    )
    return [(int(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]


def choose(candidates: list[tuple[int, str, int, int]], mode: str, last_user_id: int | None) -> int | None:
    """Pure choice over (id, availability, capacity, load): online first, then away; never offline."""
    for presence in ("online", "away"):
        pool = [c for c in candidates if c[1] == presence and c[3] < c[2]]
        if not pool:
            continue
        if mode == "least_loaded":
            return min(pool, key=lambda c: (c[3], c[0]))[0]
        after = [c for c in pool if last_user_id is not None and c[0] > last_user_id]
        return (after or pool)[0][0]
    return None


async def settings_of(session: AsyncSession, team_id: int) -> TeamAssignment | None:
    return await session.get(TeamAssignment, team_id)


async def assign_queue(team_id: int, *, only: int | None = None, limit: int = 100) -> list[tuple[int, int]]:
    """Hand out the team's unassigned open conversations (or just `only`) while agents have room."""
    done: list[tuple[int, int]] = []
    outbox = Outbox()
    async with session_scope() as session:
        await xact_lock(session, lock_key("assign-team", team_id))
        conf = await settings_of(session, team_id)
        if conf is None or conf.mode not in ("round_robin", "least_loaded"):
            return done
        query = (
            select(Conversation.id)
            .where(Conversation.team_id == team_id, Conversation.assignee_id.is_(None), Conversation.status == "open")
            .order_by(Conversation.created_at, Conversation.id)
            .limit(limit)
        )
        if only is not None:
            query = query.where(Conversation.id == only)
        queue = list((await session.execute(query)).scalars())
        if not queue:
            return done
        candidates = await _candidates(session, team_id)
        for conversation_id in queue:
            user_id = choose(candidates, conf.mode, conf.last_user_id)
            if user_id is None:
                break
            conv = await service.load(session, conversation_id)
            changed = await service.apply(session, conv, ACTOR, assignee_id=user_id)
            if not changed:
                continue
            conf.last_user_id = user_id
            candidates = [(c[0], c[1], c[2], c[3] + 1) if c[0] == user_id else c for c in candidates]
            done.append((conversation_id, user_id))
            outbox.events.append(await service.updated_event(session, conv, changed, ACTOR, "assignment"))
    await outbox.flush()
    return done


async def assign_conversation(conversation_id: int) -> int | None:
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
        if conv is None or conv.team_id is None or conv.assignee_id is not None:
            return None
        team_id = conv.team_id
    done = await assign_queue(team_id, only=conversation_id)
    return done[0][1] if done else None


async def teams_of(user_id: int) -> list[int]:
    async with session_scope() as session:
        return list((await session.execute(select(TeamMember.team_id).where(TeamMember.user_id == user_id))).scalars())


async def on_slot_freed(team_id: int | None, agent_id: int | None) -> None:
    teams: set[int] = set()
    if team_id is not None:
        teams.add(team_id)
    if agent_id is not None:
        teams.update(await teams_of(agent_id))
    for team in sorted(teams):
        await assign_queue(team)


async def set_mode(team_id: int, mode: str) -> TeamAssignment:
    if mode not in MODES:
        raise service.ChangeRejected(f"Unknown assignment mode {mode!r}; use one of {', '.join(MODES)}.")
    async with session_scope() as session:
        row = await session.get(TeamAssignment, team_id)
        if row is None:
            row = TeamAssignment(team_id=team_id, mode=mode)
            session.add(row)
        row.mode = mode
        await session.flush()
    await assign_queue(team_id)
    return row


async def sweep_queues() -> None:
    """Recovery pass: hand out whatever waits in any auto-assigning team's queue."""
    async with session_scope() as session:
        teams = list(
            (
                await session.execute(
                    select(TeamAssignment.team_id).where(TeamAssignment.mode.in_(("round_robin", "least_loaded")))
                )
            ).scalars()
        )
    for team_id in teams:
        await assign_queue(team_id)
