"""SLA clocks: first response, next response and resolution targets, on the wall clock or in business
hours, with a warning (e.g. at 80 % of the target) and a breach raised the moment they happen.

Each running target is an `SlaClock` row. When a clock starts, a job is scheduled at its exact warning
and due moments (`enqueue(..., at=..., key=clock:stage)`); the job re-reads the row and raises
`sla.warning` / `sla.breached` (an Event row, then a DomainEvent with inbox and conversation, which the
fan-out pushes live) unless the target was met meanwhile. The sweeper only recovers after a crash.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import events
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.jobs import enqueue, job, sweeper
from hub.models import Conversation, Event
from ticketing.business_hours import Schedule, add_business_seconds, schedule_of
from ticketing.metrics import Snapshot
from ticketing.models import BusinessHours, ConversationMetrics, SlaClock, SlaPolicy
from ticketing.service import Outbox

log = logging.getLogger("ticketing.sla")
FIRE = "ticketing.sla_fire"
KINDS = ("first_response", "next_response", "resolution")
REARM_HORIZON = timedelta(minutes=10)
EARLY_TOLERANCE = timedelta(seconds=5)  # a timer that fires this much early waits out the rest in the job


async def schedule_for_policy(session: AsyncSession, policy: SlaPolicy | None) -> Schedule | None:
    if policy is None or policy.business_hours_id is None:
        return None
    return schedule_of(await session.get(BusinessHours, policy.business_hours_id))


def _target(policy: SlaPolicy, kind: str) -> int | None:
    value: int | None = getattr(policy, f"{kind}_seconds")
    return value


async def start_clock(
    session: AsyncSession,
    conv: Conversation,
    policy: SlaPolicy,
    schedule: Schedule | None,
    kind: str,
    start: datetime,
) -> SlaClock | None:
    target = _target(policy, kind)
    if not target:
        return None
    due = add_business_seconds(schedule, start, target)
    warn = add_business_seconds(schedule, start, target * policy.warn_ratio) if 0 < policy.warn_ratio < 1 else None
    clock = SlaClock(
        conversation_id=conv.id,
        inbox_id=conv.inbox_id,
        policy_id=policy.id,
        kind=kind,
        state="running",
        started_at=start,
        due_at=due,
        warn_at=warn,
    )
    session.add(clock)
    await session.flush()
    return clock


def schedule_jobs(clock: SlaClock) -> Any:
    clock_id, warn_at, due_at = clock.id, clock.warn_at, clock.due_at

    async def call() -> None:
        if warn_at is not None:
            await enqueue(FIRE, key=f"{clock_id}:warning", at=warn_at, clock_id=clock_id, stage="warning")
        await enqueue(FIRE, key=f"{clock_id}:breach", at=due_at, clock_id=clock_id, stage="breach")

    return call


async def _metrics(session: AsyncSession, conversation_id: int) -> ConversationMetrics | None:
    from ticketing.metrics import ensure_row

    return await ensure_row(session, conversation_id)


async def apply_policy(session: AsyncSession, conv: Conversation, policy: SlaPolicy, outbox: Outbox) -> None:
    """Attach `policy` to the conversation: cancel its running clocks and start the ones that apply now."""
    now = utcnow()
    await session.execute(
        update(SlaClock)
        .where(SlaClock.conversation_id == conv.id, SlaClock.state == "running")
        .values(state="cancelled")
    )
    metrics = await _metrics(session, conv.id)
    if metrics is not None:
        metrics.sla_policy_id = policy.id
        metrics.business_hours_id = policy.business_hours_id
    schedule = await schedule_for_policy(session, policy)
    clocks: list[SlaClock | None] = []
    if conv.status not in ("resolved", "closed"):
        answered = metrics.first_response_at if metrics is not None else conv.first_response_at
        if answered is None:
            clocks.append(await start_clock(session, conv, policy, schedule, "first_response", conv.created_at))
        elif metrics is not None and metrics.waiting_since is not None:
            clocks.append(await start_clock(session, conv, policy, schedule, "next_response", metrics.waiting_since))
        clocks.append(await start_clock(session, conv, policy, schedule, "resolution", conv.created_at))
    session.add(
        Event(
            kind="sla.policy_applied",
            conversation_id=conv.id,
            contact_id=conv.contact_id,
            inbox_id=conv.inbox_id,
            actor_kind="system",
            data={"policy_id": policy.id, "name": policy.name},
            created_at=now,
        )
    )
    for clock in clocks:
        if clock is not None:
            outbox.after.append(schedule_jobs(clock))


async def default_policy(session: AsyncSession, inbox_id: int) -> SlaPolicy | None:
    rows = await session.execute(
        select(SlaPolicy)
        .where(SlaPolicy.active.is_(True), or_(SlaPolicy.inbox_id == inbox_id, SlaPolicy.is_default.is_(True)))
        .order_by(SlaPolicy.inbox_id.is_(None), SlaPolicy.id)
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def set_policy(conversation_id: int, policy_id: int) -> None:
    outbox = Outbox()
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
        policy = await session.get(SlaPolicy, policy_id)
        if conv is None or policy is None:
            return
        await apply_policy(session, conv, policy, outbox)
    await outbox.flush()


async def on_created(conversation_id: int) -> None:
    """A new conversation without a policy from routing gets its inbox's (or the default) policy."""
    outbox = Outbox()
    async with session_scope() as session:
        metrics = await _metrics(session, conversation_id)
        if metrics is None or metrics.sla_policy_id is not None:
            return
        conv = await session.get(Conversation, conversation_id)
        if conv is None:
            return
        policy = await default_policy(session, conv.inbox_id)
        if policy is None:
            return
        await apply_policy(session, conv, policy, outbox)
    await outbox.flush()


async def on_message(conversation_id: int, message: dict[str, Any], seen: Snapshot | None = None) -> None:
    """Customer writes: start a next-response clock. An agent replies: the running response clocks are met.

    `seen` is the conversation's metrics row as the metrics step just left it, when the caller has it."""
    direction, author = message.get("direction"), message.get("author_kind")
    inbound = direction == "in" and not message.get("automated")
    if inbound and seen is not None and (seen.sla_policy_id is None or seen.first_response_at is None):
        return  # no policy, or the first-response clock still runs: nothing to start, no transaction
    outbox = Outbox()
    async with session_scope() as session:
        if direction == "out" and author == "agent":
            await _meet(session, conversation_id, ("first_response", "next_response"))
            return
        if direction != "in" or message.get("automated"):
            return
        metrics = await _metrics(session, conversation_id)
        if metrics is None or metrics.sla_policy_id is None or metrics.first_response_at is None:
            return
        running = (
            await session.execute(
                select(SlaClock.id).where(
                    SlaClock.conversation_id == conversation_id,
                    SlaClock.kind.in_(("first_response", "next_response")),
                    SlaClock.state == "running",
                )
            )
        ).first()
        if running is not None:
            return
        policy = await session.get(SlaPolicy, metrics.sla_policy_id)
        conv = await session.get(Conversation, conversation_id)
        if policy is None or conv is None or not policy.active:
            return
        start = metrics.waiting_since or utcnow()
        clock = await start_clock(
            session, conv, policy, await schedule_for_policy(session, policy), "next_response", start
        )
        if clock is not None:
            outbox.after.append(schedule_jobs(clock))
    await outbox.flush()


async def _meet(session: AsyncSession, conversation_id: int, kinds: tuple[str, ...]) -> None:
    now = utcnow()
    clocks = (
        await session.execute(
            select(SlaClock).where(
                SlaClock.conversation_id == conversation_id, SlaClock.kind.in_(kinds), SlaClock.state == "running"
            )
        )
    ).scalars()
    metrics = None
    for clock in clocks:
        clock.state = "met"
        clock.met_at = now
        if clock.breached_at is None:
            metrics = metrics or await _metrics(session, conversation_id)
            if metrics is not None:
                metrics.sla_targets += 1


async def on_status(conversation_id: int, status: str) -> None:
    """Resolving meets the resolution target; resolving or closing stops the response clocks."""
    if status not in ("resolved", "closed"):
        return
    async with session_scope() as session:
        if status == "resolved":
            await _meet(session, conversation_id, ("resolution",))
        await session.execute(
            update(SlaClock)
            .where(SlaClock.conversation_id == conversation_id, SlaClock.state == "running")
            .values(state="cancelled")
        )


@job(FIRE, retries=5, backoff_seconds=1.0)
async def fire(clock_id: int, stage: str) -> None:
    """Raise the warning or breach of one clock, exactly once, unless the target was met meanwhile."""
    async with session_scope() as session:
        clock = await session.get(SlaClock, clock_id)
        if clock is None:
            return
        moment = clock.warn_at if stage == "warning" else clock.due_at
    if moment is None:
        return
    early = moment - utcnow()
    if early > EARLY_TOLERANCE:
        # Woken too soon (a moved timer, a coarse scheduler): ask again at the right moment under a new key.
        await enqueue(
            FIRE, key=f"{clock_id}:{stage}:{int(moment.timestamp())}", at=moment, clock_id=clock_id, stage=stage
        )
        return
    if early.total_seconds() > 0:
        await asyncio.sleep(early.total_seconds())
    await raise_alert(clock_id, stage)


async def raise_alert(clock_id: int, stage: str) -> bool:
    now = utcnow()
    async with session_scope() as session:
        column = SlaClock.warned_at if stage == "warning" else SlaClock.breached_at
        conditions = [SlaClock.id == clock_id, SlaClock.state == "running", column.is_(None)]
        if stage == "warning":
            conditions.append(SlaClock.breached_at.is_(None))
        claimed = (
            await session.execute(update(SlaClock).where(*conditions).values({column.key: now}).returning(SlaClock.id))
        ).first()
        if claimed is None:
            return False
        clock = await session.get(SlaClock, clock_id)
        assert clock is not None
        conv = await session.get(Conversation, clock.conversation_id)
        if conv is None:
            return False
        name = "sla.warning" if stage == "warning" else "sla.breached"
        data = {
            "clock_id": clock.id,
            "kind": clock.kind,
            "policy_id": clock.policy_id,
            "conversation_id": conv.id,
            "started_at": clock.started_at.isoformat(),
            "due_at": clock.due_at.isoformat(),
            "at": now.isoformat(),
        }
        session.add(
            Event(
                kind=name,
                conversation_id=conv.id,
                contact_id=conv.contact_id,
                inbox_id=conv.inbox_id,
                actor_kind="system",
                data=data,
                created_at=now,
            )
        )
        if stage == "breach":
            metrics = await _metrics(session, conv.id)
            if metrics is not None:
                metrics.sla_targets += 1
                metrics.sla_breaches += 1
        event = DomainEvent(
            name=name, data=data, inbox_id=conv.inbox_id, conversation_id=conv.id, contact_id=conv.contact_id
        )
    await events.emit(event)
    return True


@sweeper
async def recover_overdue_clocks() -> None:
    """After a crash or a lost timer: raise what is overdue and re-arm what is still ahead."""
    now = utcnow()
    async with session_scope() as session:
        rows = (
            await session.execute(
                select(SlaClock.id, SlaClock.warn_at, SlaClock.warned_at, SlaClock.due_at, SlaClock.breached_at)
                .where(SlaClock.state == "running", SlaClock.breached_at.is_(None), SlaClock.due_at <= now)
                .limit(1000)
            )
        ).all()
    for clock_id, *_ in rows:
        await raise_alert(clock_id, "breach")
    # Timers lost with a crashed process: re-arm what falls due soon (the same keys, so nothing doubles).
    horizon = now + REARM_HORIZON
    async with session_scope() as session:
        soon = (
            await session.execute(
                select(SlaClock.id, SlaClock.warn_at, SlaClock.warned_at, SlaClock.due_at)
                .where(SlaClock.state == "running", SlaClock.breached_at.is_(None), SlaClock.due_at <= horizon)
                .limit(5000)
            )
        ).all()
    for clock_id, warn_at, warned_at, due_at in soon:
        if warn_at is not None and warned_at is None and warn_at <= horizon:
            await enqueue(FIRE, key=f"{clock_id}:warning", at=warn_at, clock_id=clock_id, stage="warning")
        await enqueue(FIRE, key=f"{clock_id}:breach", at=due_at, clock_id=clock_id, stage="breach")


async def clocks_of(session: AsyncSession, conversation_id: int) -> list[dict[str, Any]]:
    rows = (
        await session.execute(select(SlaClock).where(SlaClock.conversation_id == conversation_id).order_by(SlaClock.id))
    ).scalars()
    return [
        {
            "id": c.id,
            "kind": c.kind,
            "state": c.state,
            "policy_id": c.policy_id,
            "started_at": c.started_at,
            "warn_at": c.warn_at,
            "due_at": c.due_at,
            "warned_at": c.warned_at,
            "breached_at": c.breached_at,
            "met_at": c.met_at,
        }
        for c in rows
    ]
