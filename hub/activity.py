"""What a customer's message does to its conversation, shared by the one-message and the batched ingest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from hub.events import DomainEvent
from hub.models import Conversation, Event
from hub.outbound import InboxConfig
from hub.schemas import conversation_out

PREVIEW = 280
REOPENED_FROM = ("resolved", "snoozed", "pending")


def record_inbound(
    session: AsyncSession,
    conv: Conversation,
    *,
    created: bool,
    inbox: InboxConfig,
    contact_id: int,
    preview: str,
    now: datetime,
) -> bool:
    """Bump the conversation's activity, reopen it if it was set aside, record events; True if reopened.

    A conversation created for this very message already carries its activity (see `new_conversation`)."""
    prior = conv.status
    reopened = not created and prior in REOPENED_FROM
    if not created:
        conv.last_activity_at = now
        conv.last_message_preview = preview[:PREVIEW]
        conv.message_count = conv.message_count + 1
        if conv.waiting_since is None:
            conv.waiting_since = now
        conv.updated_at = now
    kind, data = ("conversation.reopened", {"from": prior}) if reopened else ("conversation.created", {})
    if reopened or created:
        session.add(
            Event(
                kind=kind,
                conversation_id=conv.id,
                contact_id=contact_id,
                inbox_id=inbox.id,
                actor_kind="contact",
                actor_id=contact_id,
                data=data or {"channel": inbox.channel},
                created_at=now,
            )
        )
    if reopened:
        conv.status = "open"
        conv.snoozed_until = None
    return reopened


def new_conversation(
    inbox: InboxConfig, contact_id: int, *, subject: str | None, thread_key: str | None, preview: str, now: datetime
) -> Conversation:
    return Conversation(
        inbox_id=inbox.id,
        contact_id=contact_id,
        status="open",
        priority="none",
        team_id=inbox.team_id,
        subject=(subject or "")[:500],
        thread_key=thread_key,
        channel=inbox.channel,
        last_activity_at=now,
        created_at=now,
        updated_at=now,
        message_count=1,
        attributes={},
        last_message_preview=preview[:PREVIEW],
        waiting_since=now,
    )


def inbound_events(
    conv: Conversation,
    message_payload: dict[str, Any],
    *,
    created: bool,
    reopened: bool,
    automated: bool,
    contact_id: int,
) -> list[DomainEvent]:
    base: dict[str, Any] = {"inbox_id": conv.inbox_id, "conversation_id": conv.id, "contact_id": contact_id}
    conv_payload = msgspec.to_builtins(conversation_out(conv))
    out: list[DomainEvent] = []
    if created:
        out.append(DomainEvent(name="conversation.created", data=conv_payload, **base))
    out.append(DomainEvent(name="message.created", data={**message_payload, "automated": automated}, **base))
    if not created:
        changes = ["status"] if reopened else []
        out.append(DomainEvent(name="conversation.updated", data={**conv_payload, "changed": changes}, **base))
    return out
