"""Automation rules: when an event happens (message.created, conversation.created/updated, sla.breached,
sla.warning, csat.received) and the conditions hold, run the actions — including signed webhooks.

Actions emit events of their own; a context variable counts the nesting so a rule that reacts to its own
change stops after `MAX_DEPTH` rounds instead of looping. Ticketing handles events in the background, after
the emitting call has returned, so the nesting cannot ride on the context alone: `remember_depth`, an inline
subscriber, runs inside `emit` (in the emitter's context) and notes the depth of each event emitted during
a rule's actions; `on_event` picks it up when the background worker reaches that event.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from sqlalchemy import select

from hub.db import session_scope
from hub.events import DomainEvent
from hub.local_cache import LocalCache
from ticketing.actions import run_actions
from ticketing.models import AutomationRule
from ticketing.routing import context_for
from ticketing.rules import matches
from ticketing.service import Actor

log = logging.getLogger("ticketing.automation")
EVENTS = (
    "message.created",
    "conversation.created",
    "conversation.updated",
    "sla.breached",
    "sla.warning",
    "csat.received",
)
MAX_DEPTH = 3
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("automation_depth", default=0)
MAX_REMEMBERED = 10_000
# id(event) -> (event, depth) for events emitted by automation actions and not yet handled
_emitted_at_depth: dict[int, tuple[DomainEvent, int]] = {}
_rules_cache: LocalCache[tuple[AutomationRule, ...]] = LocalCache(AutomationRule.__tablename__, ttl=3.0)


async def remember_depth(event: DomainEvent) -> None:
    """Inline subscriber: runs in the emitter's context, so it sees the depth of the rule that emitted."""
    depth = _depth.get()
    if depth and event.conversation_id is not None:
        if len(_emitted_at_depth) >= MAX_REMEMBERED:  # events some handler skipped; never grow without bound
            _emitted_at_depth.clear()
        _emitted_at_depth[id(event)] = (event, depth)


def depth_of(event: DomainEvent) -> int:
    entry = _emitted_at_depth.pop(id(event), None)
    recorded = entry[1] if entry is not None and entry[0] is event else 0
    return max(_depth.get(), recorded)


async def enabled_rules(event_name: str) -> tuple[AutomationRule, ...]:
    """Every event of every conversation asks this, and rules change rarely: cached (read-only, detached)."""
    found, rules = _rules_cache.get(event_name)
    if found and rules is not None:
        return rules
    async with session_scope() as session:
        rules = tuple(
            (
                await session.execute(
                    select(AutomationRule)
                    .where(AutomationRule.enabled.is_(True), AutomationRule.event == event_name)
                    .order_by(AutomationRule.id)
                )
            ).scalars()
        )
    _rules_cache.put(event_name, rules)
    return rules


async def on_event(event: DomainEvent) -> None:
    depth = depth_of(event)
    if event.conversation_id is None or event.name not in EVENTS:
        return
    if depth >= MAX_DEPTH:
        log.warning("automation stopped at depth %d on %s (a rule keeps triggering itself?)", depth, event.name)
        return
    rules = await enabled_rules(event.name)
    if not rules:
        return
    message = event.data if event.name == "message.created" else None
    token = _depth.set(depth + 1)
    try:
        for rule in rules:
            ctx = await context_for(event.conversation_id, event.name, message, event.data)
            if ctx is None:
                return
            if not matches(rule.conditions, rule.match, ctx):
                continue
            trigger: dict[str, Any] = {
                "event": event.name,
                "rule": {"id": rule.id, "name": rule.name},
                "data": event.data,
            }
            try:
                await run_actions(
                    event.conversation_id,
                    rule.actions,
                    Actor("automation", rule.id),
                    source="automation",
                    rule_id=rule.id,
                    secrets=rule.secrets or {},
                    trigger=trigger,
                )
            except Exception:
                log.exception("automation rule %s failed on %s", rule.id, event.name)
    finally:
        _depth.reset(token)
