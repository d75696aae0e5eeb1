"""The shapes the kernel hands out (REST responses and realtime payloads): one definition for both."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from hub.models import Contact, Conversation, Event, Message


class AttachmentOut(msgspec.Struct):
    id: int
    filename: str
    content_type: str
    size: int
    url: str


class MessageOut(msgspec.Struct, tag_field="type", tag="message"):
    """Tagged (`"type": "message"`) so timelines can mix messages and events in one typed list."""

    id: int
    conversation_id: int
    inbox_id: int
    direction: str
    author_kind: str
    author_id: int | None
    text: str
    html: str | None
    status: str
    error: str | None
    provider_id: str | None
    created_at: datetime
    sent_at: datetime | None
    attachments: list[AttachmentOut] = msgspec.field(default_factory=list)
    meta: dict[str, Any] = msgspec.field(default_factory=dict)


class EventOut(msgspec.Struct, tag_field="type", tag="event"):
    id: int
    kind: str
    conversation_id: int | None
    contact_id: int | None
    actor_kind: str
    actor_id: int | None
    data: dict[str, Any]
    created_at: datetime


class ConversationOut(msgspec.Struct):
    id: int
    inbox_id: int
    contact_id: int
    channel: str
    status: str
    priority: str
    assignee_id: int | None
    team_id: int | None
    subject: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    last_message_preview: str
    first_response_at: datetime | None
    waiting_since: datetime | None
    resolved_at: datetime | None
    snoozed_until: datetime | None
    message_count: int
    attributes: dict[str, Any]
    contact_name: str | None = None


class ContactOut(msgspec.Struct):
    id: int
    name: str
    email: str | None
    phone: str | None
    company: str
    attributes: dict[str, Any]
    verified: bool
    created_at: datetime
    updated_at: datetime
    identities: list[dict[str, Any]] = msgspec.field(default_factory=list)
    merged_into_id: int | None = None


def message_out(m: Message, attachments: list[AttachmentOut] | None = None) -> MessageOut:
    return MessageOut(
        id=m.id,
        conversation_id=m.conversation_id,
        inbox_id=m.inbox_id,
        direction=m.direction,
        author_kind=m.author_kind,
        author_id=m.author_id,
        text=m.text,
        html=m.html,
        status=m.status,
        error=m.error,
        provider_id=m.provider_id,
        created_at=m.created_at,
        sent_at=m.sent_at,
        attachments=attachments or [],
        meta=m.meta or {},
    )


def event_out(e: Event) -> EventOut:
    return EventOut(
        id=e.id,
        kind=e.kind,
        conversation_id=e.conversation_id,
        contact_id=e.contact_id,
        actor_kind=e.actor_kind,
        actor_id=e.actor_id,
        data=e.data or {},
        created_at=e.created_at,
    )


def conversation_out(
    c: Conversation, tags: list[str] | None = None, contact_name: str | None = None
) -> ConversationOut:
    return ConversationOut(
        id=c.id,
        inbox_id=c.inbox_id,
        contact_id=c.contact_id,
        channel=c.channel,
        status=c.status,
        priority=c.priority,
        assignee_id=c.assignee_id,
        team_id=c.team_id,
        subject=c.subject,
        tags=sorted(tags or []),
        created_at=c.created_at,
        updated_at=c.updated_at,
        last_activity_at=c.last_activity_at,
        last_message_preview=c.last_message_preview,
        first_response_at=c.first_response_at,
        waiting_since=c.waiting_since,
        resolved_at=c.resolved_at,
        snoozed_until=c.snoozed_until,
        message_count=c.message_count,
        attributes=c.attributes or {},
        contact_name=contact_name,
    )


def contact_out(c: Contact, identities: list[dict[str, Any]] | None = None) -> ContactOut:
    return ContactOut(
        id=c.id,
        name=c.name,
        email=c.email,
        phone=c.phone,
        company=c.company,
        attributes=c.attributes or {},
        verified=c.verified,
        created_at=c.created_at,
        updated_at=c.updated_at,
        identities=identities or [],
        merged_into_id=c.merged_into_id,
    )
