"""Keeping `conversation_metrics` and `response_metrics` current from domain events.

Reports read only these two tables, so they never replay messages: the durations (wall clock and
business hours) are computed once, when the response or resolution happens. Definitions: docs/metrics.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import session_scope, utcnow
from hub.models import Conversation
from ticketing.business_hours import Schedule, business_seconds_between, schedule_of
from ticketing.models import BusinessHours, ConversationMetrics, ResponseMetric


async def ensure_row(session: AsyncSession, conversation_id: int) -> ConversationMetrics | None:
    row = await session.get(ConversationMetrics, conversation_id)
    if row is not None:
        return row
    conv = await session.get(Conversation, conversation_id)
    if conv is None:
        return None
    row = ConversationMetrics(
        conversation_id=conv.id,
        inbox_id=conv.inbox_id,
        channel=conv.channel,
        team_id=conv.team_id,
        assignee_id=conv.assignee_id,
        created_at=conv.created_at,
        resolutions=0,
        sla_targets=0,
        sla_breaches=0,
    )
    session.add(row)
    await session.flush()
    return row


async def schedule_for(session: AsyncSession, row: ConversationMetrics) -> Schedule | None:
    """The conversation's SLA policy's business hours, else the default business hours, else none."""
    hours = None
    if row.business_hours_id is not None:
        hours = await session.get(BusinessHours, row.business_hours_id)
    if hours is None:
        hours = (
            await session.execute(
                select(BusinessHours).where(BusinessHours.is_default.is_(True)).order_by(BusinessHours.id).limit(1)
            )
        ).scalar_one_or_none()
    return schedule_of(hours)


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


async def on_created(conversation_id: int) -> None:
    async with session_scope() as session:
        await ensure_row(session, conversation_id)


class Snapshot(NamedTuple):
    """What the SLA step needs of the row as a message left it, so it need not read the row again."""

    sla_policy_id: int | None
    first_response_at: datetime | None
    waiting_since: datetime | None


async def on_message(conversation_id: int, message: dict[str, Any]) -> Snapshot | None:
    if message.get("direction") == "in" and not message.get("automated"):
        # The customer's turn, by far the most common event: one statement, no row loaded into the session.
        at = _parse(message.get("created_at")) or utcnow()
        waiting = ConversationMetrics.waiting_since
        async with session_scope() as session:
            hit = (
                await session.execute(
                    update(ConversationMetrics)
                    .where(ConversationMetrics.conversation_id == conversation_id)
                    .values(waiting_since=func.coalesce(waiting, literal(at, waiting.type)))
                    .returning(ConversationMetrics.sla_policy_id, ConversationMetrics.first_response_at, waiting)
                )
            ).first()
        if hit is not None:
            return Snapshot(*hit)
    async with session_scope() as session:
        row = await ensure_row(session, conversation_id)
        if row is None:
            return None
        await _record_message(session, row, message)
        return Snapshot(row.sla_policy_id, row.first_response_at, row.waiting_since)


async def _record_message(session: AsyncSession, row: ConversationMetrics, message: dict[str, Any]) -> None:
    direction, author = message.get("direction"), message.get("author_kind")
    at = _parse(message.get("created_at")) or utcnow()
    if direction == "in" and not message.get("automated"):
        if row.waiting_since is None:
            row.waiting_since = at
        return
    if direction != "out" or author != "agent" or row.waiting_since is None:
        return
    schedule = await schedule_for(session, row)
    seconds = max(0.0, (at - row.waiting_since).total_seconds())
    bh = business_seconds_between(schedule, row.waiting_since, at)
    first = row.first_response_at is None
    session.add(
        ResponseMetric(
            conversation_id=row.conversation_id,
            kind="first" if first else "next",
            inbox_id=row.inbox_id,
            channel=row.channel,
            team_id=row.team_id,
            agent_id=message.get("author_id"),
            waiting_since=row.waiting_since,
            responded_at=at,
            seconds=seconds,
            bh_seconds=bh,
        )
    )
    if first:
        row.first_response_at = at
        row.first_response_seconds = max(0.0, (at - row.created_at).total_seconds())
        row.first_response_bh_seconds = business_seconds_between(schedule, row.created_at, at)
    row.waiting_since = None


async def on_updated(conversation_id: int, data: dict[str, Any]) -> None:
    changed = set(data.get("changed") or [])
    if not changed & {"status", "team_id", "assignee_id"}:
        return  # most updates are activity only (a new message); the metrics row does not move
    async with session_scope() as session:
        row = await ensure_row(session, conversation_id)
        if row is None:
            return
        if "team_id" in data:
            row.team_id = data.get("team_id")
        if "assignee_id" in data:
            row.assignee_id = data.get("assignee_id")
        if "status" not in changed:
            return
        status = data.get("status")
        if status == "resolved":
            at = _parse(data.get("resolved_at")) or utcnow()
            row.resolved_at = at
            row.resolution_seconds = max(0.0, (at - row.created_at).total_seconds())
            row.resolution_bh_seconds = business_seconds_between(await schedule_for(session, row), row.created_at, at)
            row.resolutions += 1
            row.waiting_since = None
        elif status == "closed":
            row.waiting_since = None


async def on_csat(conversation_id: int, score: int) -> None:
    async with session_scope() as session:
        row = await ensure_row(session, conversation_id)
        if row is not None:
            row.csat_score = score
