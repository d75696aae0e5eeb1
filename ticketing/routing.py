"""Routing rules: ordered by position, evaluated when a conversation is created (and on demand).

Each matching rule's actions run; a rule with `stop` ends the evaluation. The first message's text is what
`text` conditions see on creation; on demand they see the latest customer message.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.db import session_scope, utcnow
from hub.models import Contact, Conversation, Message
from ticketing import service
from ticketing.actions import run_actions
from ticketing.models import RoutingRule
from ticketing.rules import RuleContext, matches
from ticketing.service import Actor

ACTOR = Actor("routing")


async def context_for(
    conversation_id: int, event: str, message: dict[str, Any] | None = None, data: dict[str, Any] | None = None
) -> RuleContext | None:
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
        if conv is None:
            return None
        contact = await session.get(Contact, conv.contact_id)
        tags = await service.tags_of(session, conv.id)
        if message is None:
            last = (
                await session.execute(
                    select(Message)
                    .where(Message.conversation_id == conv.id, Message.direction == "in")
                    .order_by(Message.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if last is not None:
                message = {"text": last.text, "direction": last.direction, "author_kind": last.author_kind}
        return RuleContext(conv, contact, tags, event, utcnow(), message, data or {})


async def evaluate(conversation_id: int, message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Apply the matching rules; returns which rules fired with what they changed."""
    async with session_scope() as session:
        rules = list(
            (
                await session.execute(
                    select(RoutingRule)
                    .where(RoutingRule.enabled.is_(True))
                    .order_by(RoutingRule.position, RoutingRule.id)
                )
            ).scalars()
        )
    fired: list[dict[str, Any]] = []
    for rule in rules:
        ctx = await context_for(conversation_id, "routing", message)
        if ctx is None:
            break
        if not matches(rule.conditions, rule.match, ctx):
            continue
        result = await run_actions(conversation_id, rule.actions, ACTOR, source="routing", rule_id=rule.id)
        fired.append({"rule_id": rule.id, "name": rule.name, "changed": result.changed})
        if rule.stop:
            break
    return fired


async def first_message(conversation_id: int) -> dict[str, Any] | None:
    async with session_scope() as session:
        first = (
            await session.execute(
                select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id).limit(1)
            )
        ).scalar_one_or_none()
        if first is None:
            return None
        return {"text": first.text, "direction": first.direction, "author_kind": first.author_kind}
