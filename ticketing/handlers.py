"""Ticketing's reaction to the hub's domain events, one handler per event name.

Each handler runs its steps in a fixed order (metrics before SLA, routing before the default SLA policy
and auto-assignment, CSAT replies before anything else), so the outcome never depends on which
subscriber the event bus happens to run first. A failing step is logged and the others still run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hub import events
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.jobs import enqueue, job, sweeper
from hub.models import Conversation
from ticketing import assignment, automation, csat, metrics, routing, service, sla
from ticketing.service import Actor

log = logging.getLogger("ticketing.handlers")
WAKE = "ticketing.wake"


async def _step(name: str, call: Awaitable[Any]) -> Any:
    try:
        return await call
    except Exception:
        log.exception("ticketing step %s failed", name)
        return None


async def on_conversation_created(event: DomainEvent) -> None:
    conv_id = event.conversation_id
    if conv_id is None:
        return
    await _step("metrics", metrics.on_created(conv_id))
    await _step("routing", routing.evaluate(conv_id, await routing.first_message(conv_id)))
    await _step("sla", sla.on_created(conv_id))
    await _step("assignment", assignment.assign_conversation(conv_id))
    await _step("automation", automation.on_event(event))


async def on_message_created(event: DomainEvent) -> None:
    conv_id = event.conversation_id
    if conv_id is None:
        return
    if await _step("csat", csat.consume_sms_reply(conv_id, event.data)):
        return
    row = await _step("metrics", metrics.on_message(conv_id, event.data))
    await _step("sla", sla.on_message(conv_id, event.data, row))
    await _step("automation", automation.on_event(event))


async def on_conversation_updated(event: DomainEvent) -> None:
    conv_id = event.conversation_id
    if conv_id is None:
        return
    data = event.data
    changed = set(data.get("changed") or [])
    source = data.get("source")
    status = data.get("status")
    if source != "csat":
        await _step("metrics", metrics.on_updated(conv_id, data))
    if "status" in changed and status:
        await _step("sla", sla.on_status(conv_id, status))
        if status == "resolved" and source != "csat":
            await _step("csat", csat.on_resolved(conv_id))
        if status == "snoozed" and data.get("snoozed_until"):
            await _step("snooze", schedule_wake(conv_id, data["snoozed_until"]))
    frees_slot = ("status" in changed and status in ("resolved", "closed", "snoozed", "pending")) or (
        "assignee_id" in changed and data.get("assignee_id") is None
    )
    if source != "assignment" and (frees_slot or ("team_id" in changed and data.get("assignee_id") is None)):
        freed_agent = data.get("assignee_id") or event.user_id
        await _step("assignment", assignment.on_slot_freed(data.get("team_id"), freed_agent))
    await _step("automation", automation.on_event(event))


async def on_presence(event: DomainEvent) -> None:
    user_id = event.user_id or event.data.get("user_id")
    availability = event.data.get("availability") or event.data.get("status")
    if user_id is None or availability not in (None, "online", "away"):
        return
    await _step("assignment", assignment.on_slot_freed(None, int(user_id)))


async def on_other(event: DomainEvent) -> None:
    await _step("automation", automation.on_event(event))


async def schedule_wake(conversation_id: int, until: str | datetime) -> None:
    moment = until if isinstance(until, datetime) else datetime.fromisoformat(str(until).replace("Z", "+00:00"))
    await enqueue(WAKE, key=f"{conversation_id}:{int(moment.timestamp())}", at=moment, conversation_id=conversation_id)


@job(WAKE, retries=5)
async def wake(conversation_id: int) -> None:
    """A snoozed conversation whose time has come goes back to open (unless someone already moved it)."""
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
        if conv is None or conv.status != "snoozed" or conv.snoozed_until is None:
            return
        remaining = (conv.snoozed_until - utcnow()).total_seconds()
        until = conv.snoozed_until
    if remaining > 5:
        await enqueue(
            WAKE, key=f"{conversation_id}:{int(until.timestamp())}:late", at=until, conversation_id=conversation_id
        )
        return
    if remaining > 0:
        await asyncio.sleep(remaining)
    await service.update(conversation_id, Actor("system"), source="snooze", status="open")


@sweeper
async def wake_overdue() -> None:
    async with session_scope() as session:
        ids = list(
            (
                await session.execute(
                    select(Conversation.id)
                    .where(Conversation.status == "snoozed", Conversation.snoozed_until <= utcnow())
                    .limit(500)
                )
            ).scalars()
        )
    for conversation_id in ids:
        await wake(conversation_id)


@sweeper
async def assignment_queues() -> None:
    await assignment.sweep_queues()


def install() -> None:
    """Ticketing reacts in the background: a webhook answers once the message is stored and fanned out, and
    metrics, SLA, routing and automation follow on the per-process event task, in emission order."""
    for name in automation.EVENTS:
        events.subscribe(name, automation.remember_depth)  # inline: must see the emitter's context
    events.subscribe("conversation.created", on_conversation_created, background=True)
    events.subscribe("message.created", on_message_created, background=True)
    events.subscribe("conversation.updated", on_conversation_updated, background=True)
    events.subscribe("presence", on_presence, background=True)
    for name in ("sla.breached", "sla.warning", "csat.received"):
        events.subscribe(name, on_other, background=True)
