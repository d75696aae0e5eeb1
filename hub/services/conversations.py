"""Conversations as agents work them: the filtered inbox list, changes (status, priority, assignment,
team, tags, snooze) each recorded as an Event, replies and private notes, and the timeline.

Every change is committed first and announced (`conversation.updated`) afterwards, so subscribers such as
ticketing and the realtime fan-out never see a change that could still roll back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import ColumnElement, delete, exists, or_, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from hub import dispatch, events
from hub.auth.principal import Principal
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.models import Contact, Conversation, ConversationTag, Event, InboxMember, Message, Team, User
from hub.models.conversation import PRIORITIES, STATUSES
from hub.sanitize import clean_html, html_to_text
from hub.schemas import ConversationOut, MessageOut, conversation_out, message_out
from hub.services import cursors, timeline
from hub.services.access import inbox_clause, visible_conversation
from hub.services.errors import Invalid

Status = Literal["open", "pending", "snoozed", "resolved", "closed"]
Priority = Literal["none", "low", "medium", "high", "urgent"]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"\S")]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
assert set(STATUSES) == set(Status.__args__) and set(PRIORITIES) == set(Priority.__args__)  # type: ignore[attr-defined]


PER_INBOX_RANGES = 50


class ConversationFilters(msgspec.Struct, kw_only=True):
    status: list[str] | None = None
    inbox_id: int | None = None
    assignee_id: int | None = None
    assignee: Literal["me", "none"] | None = None
    team_id: int | None = None
    tag: str | None = None
    contact_id: int | None = None
    q: str | None = None


class ConversationPage(msgspec.Struct):
    items: list[ConversationOut]
    next_cursor: str | None


class TagChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Either `set` (the complete new list) or `add`/`remove`."""

    add: list[Tag] = msgspec.field(default_factory=list)
    remove: list[Tag] = msgspec.field(default_factory=list)
    set: list[Tag] | None = None


class ConversationPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields present change; `null` clears assignee, team or snooze time."""

    status: Status | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    assignee_id: Id | UnsetType | None = UNSET
    team_id: Id | UnsetType | None = UNSET
    tags: TagChange | UnsetType = UNSET
    snoozed_until: AwareDatetime | UnsetType | None = UNSET


class MessageIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A reply or note: plain `text`, and optionally `html` (sanitised; the text is derived when empty)."""

    text: Annotated[str, msgspec.Meta(max_length=100_000)] = ""
    html: Annotated[str, msgspec.Meta(max_length=500_000)] | None = None


def normalise_tag(tag: str) -> str:
    """Tags compare case- and spacing-insensitively: "VIP ", "vip" and "Vip" are one tag."""
    value = " ".join(tag.strip().lower().split())[:64]
    if not value:
        raise Invalid("A tag cannot be empty.")
    return value


async def tags_of(session: AsyncSession, conversation_ids: list[int]) -> dict[int, list[str]]:
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(ConversationTag.conversation_id, ConversationTag.tag).where(
            ConversationTag.conversation_id.in_(conversation_ids)
        )
    )
    found: dict[int, list[str]] = {}
    for conv_id, tag in rows:
        found.setdefault(conv_id, []).append(tag)
    return found


async def _contact_name(session: AsyncSession, contact_id: int) -> str | None:
    return (await session.execute(select(Contact.name).where(Contact.id == contact_id))).scalar_one_or_none()


async def list_conversations(
    principal: Principal, filters: ConversationFilters, *, cursor: str | None, limit: int
) -> ConversationPage:
    """Newest activity first, keyset-paginated on (last_activity_at, id) so each page is an index range."""
    conds: list[ColumnElement[bool]] = []
    if filters.status:
        unknown = [s for s in filters.status if s not in STATUSES]
        if unknown:
            raise Invalid(f"Unknown status {unknown[0]!r}; use one of {', '.join(STATUSES)}.")
        statuses = sorted(set(filters.status))
        conds.append(Conversation.status == statuses[0] if len(statuses) == 1 else Conversation.status.in_(statuses))
    if filters.inbox_id is not None:
        conds.append(Conversation.inbox_id == filters.inbox_id)
    if filters.assignee == "me":
        conds.append(Conversation.assignee_id == principal.id)
    elif filters.assignee == "none":
        conds.append(Conversation.assignee_id.is_(None))
    if filters.assignee_id is not None:
        conds.append(Conversation.assignee_id == filters.assignee_id)
    if filters.team_id is not None:
        conds.append(Conversation.team_id == filters.team_id)
    if filters.contact_id is not None:
        conds.append(Conversation.contact_id == filters.contact_id)
    if filters.tag:
        conds.append(
            exists(
                select(ConversationTag.conversation_id).where(
                    ConversationTag.conversation_id == Conversation.id,
                    ConversationTag.tag == " ".join(filters.tag.lower().split()),
                )
            )
        )
    if filters.q and filters.q.strip():
        pattern = "%" + _escape_like(filters.q.strip()) + "%"
        conds.append(
            or_(
                Conversation.subject.ilike(pattern, escape="\\"),
                Conversation.last_message_preview.ilike(pattern, escape="\\"),
            )
        )
    if cursor:
        at, last_id = cursors.decode(cursor, tuple[cursors.Time, cursors.Id])
        conds.append(tuple_(Conversation.last_activity_at, Conversation.id) < tuple_(at, last_id))
    ordering = (Conversation.last_activity_at.desc(), Conversation.id.desc())
    inboxes = sorted(principal.inbox_ids) if principal.inbox_ids is not None else None
    narrowed = filters.inbox_id or filters.assignee or filters.assignee_id or filters.team_id or filters.contact_id
    if inboxes is not None and 1 < len(inboxes) <= PER_INBOX_RANGES and not narrowed:
        # An agent's view: one (inbox_id, last_activity_at, id) index range per inbox, merged, instead of
        # sorting every conversation of their inboxes or walking everyone's by time.
        ranges = [
            select(sub.c.id)
            for sub in (
                select(Conversation.id)
                .where(Conversation.inbox_id == inbox_id, *conds)
                .order_by(*ordering)
                .limit(limit + 1)
                .subquery()
                for inbox_id in inboxes
            )
        ]
        where: list[ColumnElement[bool]] = [Conversation.id.in_(union_all(*ranges))]
    else:
        where = [inbox_clause(principal, Conversation.inbox_id), *conds]
    query = (
        select(Conversation, Contact.name)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(*where)
        .order_by(*ordering)
        .limit(limit + 1)
    )
    async with session_scope() as session:
        rows = (await session.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        tags = await tags_of(session, [c.id for c, _ in rows])
    items = [conversation_out(c, tags.get(c.id), name) for c, name in rows]
    next_cursor = cursors.encode(rows[-1][0].last_activity_at, rows[-1][0].id) if more and rows else None
    return ConversationPage(items=items, next_cursor=next_cursor)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def get_conversation(principal: Principal, conversation_id: int) -> ConversationOut:
    async with session_scope() as session:
        conv = await visible_conversation(session, principal, conversation_id)
        tags = await tags_of(session, [conv.id])
        return conversation_out(conv, tags.get(conv.id), await _contact_name(session, conv.contact_id))


async def patch_conversation(principal: Principal, conversation_id: int, patch: ConversationPatch) -> ConversationOut:
    changed: list[str] = []
    async with session_scope() as session:
        conv = await visible_conversation(session, principal, conversation_id, for_update=True)
        now = utcnow()

        def record(kind: str, data: dict[str, Any]) -> None:
            session.add(
                Event(
                    kind=kind,
                    conversation_id=conv.id,
                    contact_id=conv.contact_id,
                    inbox_id=conv.inbox_id,
                    actor_kind="agent",
                    actor_id=principal.id,
                    data=data,
                    created_at=now,
                )
            )

        status = patch.status
        snooze = patch.snoozed_until
        if status is UNSET and snooze is not UNSET and snooze is not None:
            status = "snoozed"  # giving a snooze time is asking to snooze
        if isinstance(snooze, datetime) and snooze <= now:
            raise Invalid("snoozed_until must be in the future; leave it out to snooze until the contact writes.")
        if status is not UNSET and status != "snoozed" and snooze not in (UNSET, None):
            raise Invalid("snoozed_until only makes sense with status 'snoozed'; drop it or change the status.")
        if status is not UNSET and (status != conv.status or (status == "snoozed" and snooze is not UNSET)):
            previous = conv.status
            conv.status = status
            conv.snoozed_until = snooze if status == "snoozed" and isinstance(snooze, datetime) else None
            if status in ("resolved", "closed") and previous not in ("resolved", "closed"):
                conv.resolved_at = now
            record(
                "conversation.status_changed",
                {
                    "from": previous,
                    "to": status,
                    "snoozed_until": conv.snoozed_until.isoformat() if conv.snoozed_until else None,
                },
            )
            changed.append("status")
        if patch.priority is not UNSET and patch.priority != conv.priority:
            record("conversation.priority_changed", {"from": conv.priority, "to": patch.priority})
            conv.priority = patch.priority
            changed.append("priority")
        if patch.assignee_id is not UNSET and patch.assignee_id != conv.assignee_id:
            if patch.assignee_id is not None:
                await _check_assignee(session, patch.assignee_id, conv.inbox_id)
            record("conversation.assigned", {"from": conv.assignee_id, "to": patch.assignee_id})
            conv.assignee_id = patch.assignee_id
            changed.append("assignee_id")
        if patch.team_id is not UNSET and patch.team_id != conv.team_id:
            if patch.team_id is not None and await session.get(Team, patch.team_id) is None:
                raise Invalid(f"There is no team {patch.team_id}; list teams at /api/v1/teams.")
            record("conversation.team_changed", {"from": conv.team_id, "to": patch.team_id})
            conv.team_id = patch.team_id
            changed.append("team_id")
        if patch.tags is not UNSET:
            added, removed = await _apply_tags(session, conv.id, patch.tags)
            if added or removed:
                record("conversation.tagged", {"added": added, "removed": removed})
                changed.append("tags")
        if changed:
            conv.updated_at = now
        await session.flush()
        tags = await tags_of(session, [conv.id])
        out = conversation_out(conv, tags.get(conv.id), await _contact_name(session, conv.contact_id))
    if changed:
        await _announce(out, changed, principal.id)
    return out


async def _check_assignee(session: AsyncSession, user_id: int, inbox_id: int) -> None:
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise Invalid(f"There is no active user {user_id} to assign; list users at /api/v1/users.")
    if user.role == "agent":
        member = await session.get(InboxMember, (inbox_id, user_id))
        if member is None:
            raise Invalid(f"{user.name or user.email} is not a member of this inbox; add them to it first.")


async def _apply_tags(session: AsyncSession, conversation_id: int, change: TagChange) -> tuple[list[str], list[str]]:
    current = set((await tags_of(session, [conversation_id])).get(conversation_id, []))
    if change.set is not None:
        if change.add or change.remove:
            raise Invalid("Send either tags.set or tags.add/tags.remove, not both.")
        wanted = {normalise_tag(t) for t in change.set}
    else:
        wanted = (current | {normalise_tag(t) for t in change.add}) - {normalise_tag(t) for t in change.remove}
    added = sorted(wanted - current)
    removed = sorted(current - wanted)
    if removed:
        await session.execute(
            delete(ConversationTag).where(
                ConversationTag.conversation_id == conversation_id, ConversationTag.tag.in_(removed)
            )
        )
    for tag in added:
        session.add(ConversationTag(conversation_id=conversation_id, tag=tag))
    return added, removed


async def _announce(out: ConversationOut, changed: list[str], user_id: int | None) -> None:
    await events.emit(
        DomainEvent(
            name="conversation.updated",
            data={
                **msgspec.to_builtins(out),
                "changed": changed,
                "source": "api",
                "actor_kind": "agent" if user_id is not None else "system",
                "actor_id": user_id,
            },
            inbox_id=out.inbox_id,
            conversation_id=out.id,
            contact_id=out.contact_id,
            user_id=user_id,
        )
    )


async def add_message(
    principal: Principal,
    conversation_id: int,
    data: MessageIn,
    *,
    private: bool,
    idempotency_key: str | None = None,
) -> MessageOut:
    """A reply (queued, then delivered by a job) or a private note. Stored and committed before anything
    is sent or announced. A retried request with the same `idempotency_key` returns the first message
    instead of sending twice (the conversation row is locked while checking, so concurrent retries too)."""
    html = clean_html(data.html) if data.html and data.html.strip() else None
    text = data.text.strip() or (html_to_text(html).strip() if html else "")
    if not text:
        raise Invalid("The message is empty; write some text.")
    async with session_scope() as session:
        conv = await visible_conversation(session, principal, conversation_id, for_update=True)
        if idempotency_key:
            earlier = await _by_idempotency_key(session, conv.id, principal.id, idempotency_key)
            if earlier is not None:
                files = await timeline.attachments_for(session, [earlier.id])
                return message_out(earlier, files.get(earlier.id))
        message: Message = await dispatch.queue_outbound(
            session,
            conv,
            text=text,
            html=html,
            author_kind="agent",
            author_id=principal.id,
            private=private,
            meta={"idempotency_key": idempotency_key} if idempotency_key else None,
        )
        tags = await tags_of(session, [conv.id])
        conv_payload = conversation_out(conv, tags.get(conv.id), await _contact_name(session, conv.contact_id))
    await dispatch.after_commit(message, conv)
    await _announce(conv_payload, ["last_activity_at"] if not private else ["message_count"], principal.id)
    return message_out(message)


async def _by_idempotency_key(session: AsyncSession, conversation_id: int, author_id: int, key: str) -> Message | None:
    since = utcnow() - timedelta(days=1)
    query = (
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.author_kind == "agent",
            Message.author_id == author_id,
            Message.created_at >= since,
            Message.meta["idempotency_key"].as_string() == key,
        )
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def conversation_timeline(
    principal: Principal, conversation_id: int, *, cursor: str | None, limit: int, order: timeline.Order
) -> timeline.TimelinePage:
    async with session_scope() as session:
        conv = await visible_conversation(session, principal, conversation_id)
        return await timeline.page(
            session,
            conversation_ids=[conv.id],
            cursor=cursor,
            limit=limit,
            order=order,
        )
