"""What the inbox pages show, read straight from the database with the agent's inbox access applied.

Writes (replies, notes, status, assignment ...) go through the REST API from the browser; this module only
reads, plus the read marks that the inbox owns.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

import msgspec
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.db import session_scope, utcnow
from hub.models import (
    Attachment,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationTag,
    Event,
    Inbox,
    InboxMember,
    Message,
    Team,
    User,
)
from hub.models.conversation import PRIORITIES, STATUSES
from web.inbox.models import ReadMark

Q = TypeVar("Q")
VIEWS = ("mine", "unassigned", "team", "all")
VIEW_LABELS = {"mine": "Mine", "unassigned": "Unassigned", "team": "My teams", "all": "All"}
PAGE_SIZE = 30
TIMELINE_LIMIT = 300


class ListFilters(msgspec.Struct, kw_only=True):
    view: str = "mine"
    status: str = "open"  # one of STATUSES, or "any"
    inbox_id: int | None = None
    channel: str | None = None
    tag: str | None = None
    q: str | None = None
    cursor: str | None = None

    def normalised(self) -> ListFilters:
        return ListFilters(
            view=self.view if self.view in VIEWS else "mine",
            status=self.status if self.status in (*STATUSES, "any") else "open",
            inbox_id=self.inbox_id,
            channel=(self.channel or "").strip() or None,
            tag=(self.tag or "").strip().lower() or None,
            q=(self.q or "").strip() or None,
            cursor=self.cursor or None,
        )

    def query_args(self, **override: Any) -> dict[str, Any]:
        """The filters as URL query arguments (empty ones left out), for links that keep them."""
        data = {
            "view": self.view,
            "status": self.status,
            "inbox_id": self.inbox_id,
            "channel": self.channel,
            "tag": self.tag,
            "q": self.q,
        }
        data.update(override)
        return {k: v for k, v in data.items() if v not in (None, "")}


@dataclass
class ListRow:
    conversation: Conversation
    contact_name: str
    inbox_name: str
    assignee_name: str | None
    tags: list[str]
    unread: int


@dataclass
class ListPage:
    rows: list[ListRow]
    next_cursor: str | None


@dataclass
class TimelineItem:
    kind: str  # message | event
    created_at: datetime
    conversation_id: int
    channel: str
    message: Message | None = None
    event: Event | None = None
    author_name: str = ""
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class Detail:
    conversation: Conversation
    contact: Contact
    identities: list[ContactIdentity]
    inbox: Inbox
    tags: list[str]
    assignee: User | None
    team: Team | None
    agents: list[User]
    teams: list[Team]
    other_conversations: list[tuple[Conversation, str]]


def _encode_cursor(at: datetime, ident: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{ident}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        at, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _visible(query: Q, principal: Principal) -> Q:
    """Limit a conversation query to the inboxes the principal may see."""
    if principal.inbox_ids is None:
        return query
    q: Any = query
    return cast(Q, q.where(Conversation.inbox_id.in_(sorted(principal.inbox_ids) or [-1])))


def _view(query: Q, principal: Principal, view: str) -> Q:
    return cast(Q, _view_any(query, principal, view))


def _view_any(query: Any, principal: Principal, view: str) -> Any:
    if view == "mine":
        return query.where(Conversation.assignee_id == principal.id)
    if view == "unassigned":
        return query.where(Conversation.assignee_id.is_(None))
    if view == "team":
        return query.where(Conversation.team_id.in_(sorted(principal.team_ids) or [-1]))
    return query


def _filtered(principal: Principal, f: ListFilters) -> Any:
    query = _view(_visible(select(Conversation, Contact.name, Contact.email, Inbox.name), principal), principal, f.view)
    query = query.join(Contact, Contact.id == Conversation.contact_id).join(Inbox, Inbox.id == Conversation.inbox_id)
    if f.status != "any":
        query = query.where(Conversation.status == f.status)
    if f.inbox_id is not None:
        query = query.where(Conversation.inbox_id == f.inbox_id)
    if f.channel:
        query = query.where(Conversation.channel == f.channel)
    if f.tag:
        query = query.where(
            exists().where(ConversationTag.conversation_id == Conversation.id, ConversationTag.tag == f.tag)
        )
    if f.q:
        like = f"%{f.q.lower()}%"
        conditions = [
            func.lower(Conversation.subject).like(like),
            func.lower(Conversation.last_message_preview).like(like),
            func.lower(Contact.name).like(like),
            func.lower(func.coalesce(Contact.email, "")).like(like),
            func.coalesce(Contact.phone, "").like(like),
            exists().where(Message.conversation_id == Conversation.id, func.lower(Message.text).like(like)),
        ]
        if f.q.lstrip("#").isdigit():
            conditions.append(Conversation.id == int(f.q.lstrip("#")))
        query = query.where(or_(*conditions))
    return query


async def list_conversations(principal: Principal, filters: ListFilters, limit: int = PAGE_SIZE) -> ListPage:
    f = filters.normalised()
    query = _filtered(principal, f)
    position = _decode_cursor(f.cursor) if f.cursor else None
    if position is not None:
        at, ident = position
        query = query.where(
            or_(
                Conversation.last_activity_at < at,
                and_(Conversation.last_activity_at == at, Conversation.id < ident),
            )
        )
    query = query.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(limit + 1)
    async with session_scope() as session:
        rows = (await session.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        ids = [r[0].id for r in rows]
        tags = await _tags(session, ids)
        unread = await _unread(session, principal.id, ids)
        assignee_ids = {r[0].assignee_id for r in rows if r[0].assignee_id}
        names = await _user_names(session, assignee_ids)
    page_rows = [
        ListRow(
            conversation=conv,
            contact_name=name or email or f"Contact {conv.contact_id}",
            inbox_name=inbox_name,
            assignee_name=names.get(conv.assignee_id) if conv.assignee_id else None,
            tags=tags.get(conv.id, []),
            unread=unread.get(conv.id, 0),
        )
        for conv, name, email, inbox_name in rows
    ]
    last = rows[-1][0] if rows else None
    return ListPage(page_rows, _encode_cursor(last.last_activity_at, last.id) if more and last else None)


async def view_counts(principal: Principal, status: str = "open") -> dict[str, int]:
    """How many conversations each view holds at this status (the numbers beside the view tabs)."""
    counts: dict[str, int] = {}
    async with session_scope() as session:
        for view in VIEWS:
            query = _view(_visible(select(func.count(Conversation.id)), principal), principal, view)
            if status != "any":
                query = query.where(Conversation.status == status)
            counts[view] = int((await session.execute(query)).scalar_one())
    return counts


async def _tags(session: AsyncSession, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not ids:
        return out
    rows = await session.execute(
        select(ConversationTag.conversation_id, ConversationTag.tag).where(ConversationTag.conversation_id.in_(ids))
    )
    for conv_id, tag in rows:
        out.setdefault(conv_id, []).append(tag)
    return {k: sorted(v) for k, v in out.items()}


async def _unread(session: AsyncSession, user_id: int, ids: list[int]) -> dict[int, int]:
    """Inbound messages newer than the agent's read mark, per conversation, in one grouped query."""
    if not ids:
        return {}
    mark = (
        select(ReadMark.last_read_message_id)
        .where(ReadMark.user_id == user_id, ReadMark.conversation_id == Message.conversation_id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Message.conversation_id, func.count(Message.id))
        .where(Message.conversation_id.in_(ids), Message.direction == "in", Message.id > func.coalesce(mark, 0))
        .group_by(Message.conversation_id)
    )
    return {conv_id: int(n) for conv_id, n in rows}


async def _user_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {uid: name or email for uid, name, email in rows}


async def unread_total(principal: Principal) -> int:
    """Unread inbound messages over the agent's open conversations (the page title shows it)."""
    mark = (
        select(ReadMark.last_read_message_id)
        .where(ReadMark.user_id == principal.id, ReadMark.conversation_id == Message.conversation_id)
        .scalar_subquery()
    )
    query = (
        select(func.count(Message.id))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.assignee_id == principal.id,
            Conversation.status == "open",
            Message.direction == "in",
            Message.id > func.coalesce(mark, 0),
        )
    )
    async with session_scope() as session:
        return int((await session.execute(_visible(query, principal))).scalar_one())


async def visible_conversation(principal: Principal, conversation_id: int) -> Conversation | None:
    """The conversation if it exists and the agent may see its inbox; None otherwise (a 404 either way)."""
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
    if conv is None or not principal.can_see_inbox(conv.inbox_id):
        return None
    return conv


async def detail(principal: Principal, conversation_id: int) -> Detail | None:
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
        if conv is None or not principal.can_see_inbox(conv.inbox_id):
            return None
        contact = await session.get(Contact, conv.contact_id)
        inbox = await session.get(Inbox, conv.inbox_id)
        assert contact is not None and inbox is not None
        identities = list(
            (
                await session.execute(
                    select(ContactIdentity).where(ContactIdentity.contact_id == contact.id).order_by(ContactIdentity.id)
                )
            ).scalars()
        )
        tags = (await _tags(session, [conv.id])).get(conv.id, [])
        assignee = await session.get(User, conv.assignee_id) if conv.assignee_id else None
        team = await session.get(Team, conv.team_id) if conv.team_id else None
        # Who may take it: managers and admins see every inbox, agents need membership of this one.
        members = select(InboxMember.user_id).where(InboxMember.inbox_id == conv.inbox_id)
        agents = list(
            (
                await session.execute(
                    select(User)
                    .where(User.active, or_(User.role.in_(("manager", "admin")), User.id.in_(members)))
                    .order_by(User.name, User.id)
                )
            ).scalars()
        )
        teams = list((await session.execute(select(Team).order_by(Team.name))).scalars())
        others_q = _visible(
            select(Conversation, Inbox.name)
            .join(Inbox, Inbox.id == Conversation.inbox_id)
            .where(Conversation.contact_id == contact.id, Conversation.id != conv.id),
            principal,
        ).order_by(Conversation.last_activity_at.desc())
        others = [(c, name) for c, name in (await session.execute(others_q.limit(20))).all()]
    return Detail(conv, contact, identities, inbox, tags, assignee, team, agents, teams, others)


async def timeline(principal: Principal, conversation: Conversation) -> list[TimelineItem]:
    """The contact's whole history across channels (in inboxes the agent may see): messages, notes and
    events, oldest first, the most recent TIMELINE_LIMIT of them."""
    async with session_scope() as session:
        convs = (
            await session.execute(
                _visible(
                    select(Conversation.id, Conversation.channel).where(
                        Conversation.contact_id == conversation.contact_id
                    ),
                    principal,
                )
            )
        ).all()
        channel_of: dict[int, str] = {row[0]: row[1] for row in convs}
        conv_ids = list(channel_of) or [conversation.id]
        messages = list(
            (
                await session.execute(
                    select(Message)
                    .where(Message.conversation_id.in_(conv_ids))
                    .order_by(Message.id.desc())
                    .limit(TIMELINE_LIMIT)
                )
            ).scalars()
        )
        evts = list(
            (
                await session.execute(
                    select(Event)
                    .where(Event.conversation_id.in_(conv_ids))
                    .order_by(Event.id.desc())
                    .limit(TIMELINE_LIMIT)
                )
            ).scalars()
        )
        attachments: dict[int, list[Attachment]] = {}
        if messages:
            for att in (
                await session.execute(select(Attachment).where(Attachment.message_id.in_([m.id for m in messages])))
            ).scalars():
                attachments.setdefault(att.message_id, []).append(att)
        user_ids = {m.author_id for m in messages if m.author_kind == "agent" and m.author_id}
        user_ids |= {e.actor_id for e in evts if e.actor_kind in ("agent", "user") and e.actor_id}
        names = await _user_names(session, {u for u in user_ids if u})
        contact = await session.get(Contact, conversation.contact_id)
    contact_name = (contact.name or contact.email or "Customer") if contact else "Customer"
    items: list[TimelineItem] = []
    for m in messages:
        if m.author_kind == "contact":
            author = contact_name
        elif m.author_kind == "agent":
            author = names.get(m.author_id or 0, "Agent")
        else:
            author = m.author_kind.title()
        items.append(
            TimelineItem(
                "message",
                m.created_at,
                m.conversation_id,
                channel_of.get(m.conversation_id, ""),
                message=m,
                author_name=author,
                attachments=attachments.get(m.id, []),
            )
        )
    for e in evts:
        if e.kind in ("message.created",):
            continue
        actor = names.get(e.actor_id or 0, "") if e.actor_kind in ("agent", "user") else e.actor_kind
        items.append(
            TimelineItem(
                "event", e.created_at, e.conversation_id or 0, channel_of.get(e.conversation_id or 0, ""), event=e,
                author_name=actor,
            )
        )  # fmt: skip
    items.sort(key=lambda i: (i.created_at, 0 if i.kind == "event" else 1))
    return items[-TIMELINE_LIMIT:]


async def mark_read(user_id: int, conversation_id: int) -> int:
    """Move the agent's read mark to the newest message; it never moves backwards."""
    async with session_scope() as session:
        newest = (
            await session.execute(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))
        ).scalar_one()
        newest = int(newest or 0)
        mark = await session.get(ReadMark, (user_id, conversation_id))
        if mark is None:
            session.add(ReadMark(user_id=user_id, conversation_id=conversation_id, last_read_message_id=newest))
        elif mark.last_read_message_id < newest:
            mark.last_read_message_id = newest
            mark.updated_at = utcnow()
    return newest


async def filter_options(principal: Principal) -> dict[str, Any]:
    """Inboxes, channels and tags to offer in the filter bar (only those the agent may see)."""
    async with session_scope() as session:
        inbox_q = select(Inbox.id, Inbox.name, Inbox.channel).where(Inbox.active).order_by(Inbox.name)
        if principal.inbox_ids is not None:
            inbox_q = inbox_q.where(Inbox.id.in_(sorted(principal.inbox_ids) or [-1]))
        inboxes = [{"id": i, "name": n, "channel": c} for i, n, c in (await session.execute(inbox_q)).all()]
        tag_q = _visible(
            select(ConversationTag.tag)
            .join(Conversation, Conversation.id == ConversationTag.conversation_id)
            .group_by(ConversationTag.tag)
            .order_by(func.count().desc())
            .limit(50),
            principal,
        )
        tags = sorted(str(t) for t in (await session.execute(tag_q)).scalars())
    channels = sorted({str(i["channel"]) for i in inboxes})
    return {"inboxes": inboxes, "channels": channels, "tags": tags, "statuses": STATUSES, "priorities": PRIORITIES}
