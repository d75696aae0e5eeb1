"""Changing a conversation from ticketing logic: the row, an Event row per change, and a
`conversation.updated` DomainEvent after commit — the same shape the core REST API produces.

`apply` works inside a caller's transaction (macros and rules batch several changes into one);
`update` is the one-call form. Every change names its `source` in the event data so subscribers (metrics,
CSAT, assignment) can tell routing, automation or a CSAT reply from an agent's click.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import events
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.locks import lock_key, xact_lock
from hub.models import Contact, Conversation, ConversationTag, Event, Message, Team, User
from hub.models.conversation import PRIORITIES, STATUSES
from hub.schemas import conversation_out

AfterCommit = Callable[[], Awaitable[None]]


class ChangeRejected(ValueError):
    """The change cannot be made as asked; the message says why (an API answers 400 with it)."""


class NotFound(LookupError):
    pass


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Actor:
    kind: str = "system"  # agent, system, automation, routing, assignment, contact
    id: int | None = None


SYSTEM = Actor()


@dataclass
class Outbox:
    """What to do once the transaction commits: events to emit and follow-up calls (job enqueues...)."""

    events: list[DomainEvent] = field(default_factory=list)
    after: list[AfterCommit] = field(default_factory=list)

    async def flush(self) -> None:
        batch, self.events = self.events, []
        calls, self.after = self.after, []
        for call in calls:
            await call()
        if batch:
            await events.emit(batch)


def _event(conv: Conversation, kind: str, actor: Actor, data: dict[str, Any]) -> Event:
    return Event(
        kind=kind,
        conversation_id=conv.id,
        contact_id=conv.contact_id,
        inbox_id=conv.inbox_id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        data=data,
        created_at=utcnow(),
    )


async def load(session: AsyncSession, conversation_id: int, *, lock: bool = True) -> Conversation:
    if lock:
        await xact_lock(session, lock_key("conversation", conversation_id))
    conv = await session.get(Conversation, conversation_id, populate_existing=True)
    if conv is None:
        raise NotFound(f"No conversation {conversation_id}.")
    return conv


async def tags_of(session: AsyncSession, conversation_id: int) -> list[str]:
    rows = await session.execute(select(ConversationTag.tag).where(ConversationTag.conversation_id == conversation_id))
    return sorted(rows.scalars())


async def payload(session: AsyncSession, conv: Conversation) -> dict[str, Any]:
    contact = await session.get(Contact, conv.contact_id)
    out = conversation_out(conv, await tags_of(session, conv.id), contact.name if contact else None)
    data: dict[str, Any] = msgspec.to_builtins(out)
    return data


def normalise_tag(tag: str) -> str:
    value = " ".join(str(tag).strip().lower().split())[:64]
    if not value:
        raise ChangeRejected("A tag cannot be empty.")
    return value


async def apply(
    session: AsyncSession,
    conv: Conversation,
    actor: Actor,
    *,
    status: str | None = None,
    snoozed_until: datetime | None = None,
    priority: str | None = None,
    assignee_id: int | None = UNSET,
    team_id: int | None = UNSET,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    keep_resolved_at: bool = False,
) -> list[str]:
    """Change fields in the caller's transaction, writing one Event per change; returns the changed fields."""
    changed: list[str] = []
    now = utcnow()
    if status is not None and (status != conv.status or (status == "snoozed" and snoozed_until)):
        if status not in STATUSES:
            raise ChangeRejected(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.")
        if status == "snoozed":
            if snoozed_until is None:
                raise ChangeRejected("Snoozing needs `snoozed_until`, the moment the conversation wakes up.")
            if snoozed_until <= now:
                raise ChangeRejected("`snoozed_until` must be in the future.")
        data: dict[str, Any] = {"from": conv.status, "to": status}
        if status == "snoozed" and snoozed_until is not None:
            data["snoozed_until"] = snoozed_until.isoformat()
            conv.snoozed_until = snoozed_until
        else:
            conv.snoozed_until = None
        if status == "resolved" and not keep_resolved_at:
            conv.resolved_at = now
        session.add(_event(conv, "conversation.status_changed", actor, data))
        conv.status = status
        changed.append("status")
    if priority is not None and priority != conv.priority:
        if priority not in PRIORITIES:
            raise ChangeRejected(f"Unknown priority {priority!r}; use one of {', '.join(PRIORITIES)}.")
        session.add(_event(conv, "conversation.priority_changed", actor, {"from": conv.priority, "to": priority}))
        conv.priority = priority
        changed.append("priority")
    if team_id is not UNSET and team_id != conv.team_id:
        if team_id is not None and await session.get(Team, team_id) is None:
            raise ChangeRejected(f"No team {team_id}.")
        session.add(_event(conv, "conversation.team_changed", actor, {"from": conv.team_id, "to": team_id}))
        conv.team_id = team_id
        changed.append("team_id")
    if assignee_id is not UNSET and assignee_id != conv.assignee_id:
        if assignee_id is not None:
            user = await session.get(User, assignee_id)
            if user is None or not user.active:
                raise ChangeRejected(f"No active user {assignee_id} to assign.")
        session.add(_event(conv, "conversation.assigned", actor, {"from": conv.assignee_id, "to": assignee_id}))
        conv.assignee_id = assignee_id
        changed.append("assignee_id")
    current = set(await tags_of(session, conv.id))
    added = sorted({normalise_tag(t) for t in add_tags} - current)
    removed = sorted({normalise_tag(t) for t in remove_tags} & current)
    for tag in added:
        session.add(ConversationTag(conversation_id=conv.id, tag=tag))
    if removed:
        await session.execute(
            delete(ConversationTag).where(ConversationTag.conversation_id == conv.id, ConversationTag.tag.in_(removed))
        )
    if added or removed:
        session.add(_event(conv, "conversation.tagged", actor, {"added": added, "removed": removed}))
        changed.append("tags")
    if changed:
        conv.updated_at = now
        await session.flush()
    return changed


async def updated_event(
    session: AsyncSession, conv: Conversation, changed: list[str], actor: Actor, source: str
) -> DomainEvent:
    data = await payload(session, conv)
    data.update({"changed": changed, "source": source, "actor_kind": actor.kind, "actor_id": actor.id})
    return DomainEvent(
        name="conversation.updated",
        data=data,
        inbox_id=conv.inbox_id,
        conversation_id=conv.id,
        contact_id=conv.contact_id,
        user_id=actor.id if actor.kind == "agent" else None,
    )


async def update(conversation_id: int, actor: Actor = SYSTEM, *, source: str = "ticketing", **changes: Any) -> bool:
    """Apply changes in their own transaction and emit after commit. Returns whether anything changed."""
    outbox = Outbox()
    async with session_scope() as session:
        conv = await load(session, conversation_id)
        changed = await apply(session, conv, actor, **changes)
        if changed:
            outbox.events.append(await updated_event(session, conv, changed, actor, source))
    await outbox.flush()
    return bool(changed)


async def merge(target_id: int, other_id: int, actor: Actor) -> dict[str, Any]:
    """Move `other`'s messages and timeline into `target` (same contact) and close `other`."""
    if target_id == other_id:
        raise ChangeRejected("A conversation cannot be merged into itself.")
    outbox = Outbox()
    async with session_scope() as session:
        await xact_lock(session, lock_key("conversation", target_id), lock_key("conversation", other_id))
        target = await load(session, target_id, lock=False)
        other = await load(session, other_id, lock=False)
        if target.contact_id != other.contact_id:
            raise ChangeRejected("Only conversations of the same contact can be merged; merge the contacts first.")
        if target.status == "closed":
            raise ChangeRejected(f"Conversation {target_id} is closed; merge into an open one.")
        moved_result = await session.execute(
            sql_update(Message).where(Message.conversation_id == other.id).values(conversation_id=target.id)
        )
        moved = int(getattr(moved_result, "rowcount", 0) or 0)
        await session.execute(
            sql_update(Event).where(Event.conversation_id == other.id).values(conversation_id=target.id)
        )
        latest = (
            await session.execute(
                select(func.max(Message.created_at), func.count()).where(Message.conversation_id == target.id)
            )
        ).one()
        target.message_count = int(latest[1] or 0)
        if latest[0] is not None and latest[0] > target.last_activity_at:
            target.last_activity_at = latest[0]
        if other.waiting_since and (target.waiting_since is None or other.waiting_since < target.waiting_since):
            target.waiting_since = other.waiting_since
        other_tags = await tags_of(session, other.id)
        session.add(_event(target, "conversation.merged", actor, {"from": other.id, "messages": moved}))
        session.add(_event(other, "conversation.merged_into", actor, {"into": target.id, "messages": moved}))
        other.message_count = 0
        other.last_message_preview = ""
        changed_target = await apply(session, target, actor, add_tags=other_tags)
        changed_other = await apply(session, other, actor, status="closed")
        target.updated_at = utcnow()
        await session.flush()
        outbox.events.append(await updated_event(session, target, [*changed_target, "messages"], actor, "merge"))
        outbox.events.append(await updated_event(session, other, [*changed_other, "merged_into"], actor, "merge"))
    await outbox.flush()
    return {"conversation_id": target_id, "merged_id": other_id, "messages_moved": moved}
