"""Group commit for the common inbound message: many concurrent ingests stored by one transaction with
set-based statements (one lock call, one duplicate check, one identity look-up, batched inserts).

While a batch is in flight the next requests queue up, so batches grow with load and a lone message is
stored at once. Only plain messages take this path (no attachments, extra identities, conversation hints or
reference lists); anything unusual, or a batch that fails as a whole, goes through `hub.ingest`'s
one-message path, so a bad message can never take others down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec
from sqlalchemy import select, tuple_

from hub import events
from hub.activity import inbound_events, new_conversation, record_inbound
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.inbound import Identity, InboundMessage, IngestResult
from hub.locks import lock_key, xact_lock
from hub.models import Contact, ContactIdentity, Conversation, Message
from hub.outbound import InboxConfig
from hub.schemas import message_out

log = logging.getLogger("hub.ingest.batch")
MAX_BATCH = 128
PREVIEW = 280


@dataclass
class Pending:
    msg: InboundMessage
    inbox: InboxConfig
    sender: Identity
    text: str
    html: str | None
    future: asyncio.Future[tuple[IngestResult, list[DomainEvent]]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def eligible(msg: InboundMessage) -> bool:
    return not (msg.attachments or msg.also_known_as or msg.thread_refs or msg.conversation_id is not None)


class Batcher:
    def __init__(self, fallback: Callable[[Pending], Awaitable[IngestResult]]) -> None:
        """`fallback` stores one message on its own (and emits its events) when a batch fails."""
        self._fallback = fallback
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Pending) -> IngestResult:
        """Stored by the batch loop; the events are emitted here, by the caller, so one slow subscriber
        never holds up the next batch."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="ingest-batcher")
        self._queue.put_nowait(item)
        result, pending = await item.future
        if pending:
            await events.emit(pending)
        return result

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                emitted = await _store(batch)
            except Exception:
                log.warning("batch of %d failed; storing its messages one by one", len(batch), exc_info=True)
                for item in batch:
                    if item.future.done():
                        continue
                    try:
                        item.future.set_result((await self._fallback(item), []))
                    except Exception as exc:
                        item.future.set_exception(exc)
                continue
            for item, outcome in zip(batch, emitted, strict=True):
                if not item.future.done():
                    item.future.set_result(outcome)


def _keys(item: Pending) -> list[int]:
    m, s = item.msg, item.sender
    thread = (
        lock_key("thread", item.inbox.id, m.thread_key)
        if m.thread_key
        else lock_key("sender-thread", item.inbox.id, s.kind, s.address)
    )
    return [lock_key("msg", item.inbox.id, m.provider_id), lock_key("identity", s.kind, s.address), thread]


def _display_name(identity: Identity) -> str:
    if identity.kind == "email":
        return identity.address.split("@", 1)[0]
    return identity.address if identity.kind == "phone" else ""


async def _store(batch: list[Pending]) -> list[tuple[IngestResult, list[DomainEvent]]]:
    now = utcnow()
    out: list[tuple[IngestResult, list[DomainEvent]] | None] = [None] * len(batch)
    async with session_scope() as session:
        await xact_lock(session, *{k for item in batch for k in _keys(item)})
        pairs = {(i.inbox.id, i.msg.provider_id) for i in batch}
        stored = {
            (row[0], row[1]): row[2:]
            for row in await session.execute(
                select(
                    Message.inbox_id, Message.provider_id, Message.id, Message.conversation_id, Conversation.contact_id
                )
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(tuple_(Message.inbox_id, Message.provider_id).in_(list(pairs)))
            )
        }
        idents = {(i.sender.kind, i.sender.address) for i in batch}
        owners: dict[tuple[str, str], int] = {
            (k, a): cid
            for k, a, cid in await session.execute(
                select(ContactIdentity.kind, ContactIdentity.address, ContactIdentity.contact_id).where(
                    tuple_(ContactIdentity.kind, ContactIdentity.address).in_(list(idents))
                )
            )
        }
        # New people: one contact per unseen identity, inserted together.
        new_contacts: dict[tuple[str, str], Contact] = {}
        for item in batch:
            key = (item.sender.kind, item.sender.address)
            if (item.inbox.id, item.msg.provider_id) in stored or key in owners or key in new_contacts:
                continue
            s = item.sender
            new_contacts[key] = Contact(
                name=item.msg.sender_name or _display_name(s),
                email=s.address if s.kind == "email" else None,
                phone=s.address if s.kind == "phone" else None,
                verified=s.verified,
                attributes={},
                created_at=now,
                updated_at=now,
            )
        if new_contacts:
            session.add_all(new_contacts.values())
            await session.flush()
            for (kind, address), contact in new_contacts.items():
                owners[(kind, address)] = contact.id
                session.add(
                    ContactIdentity(
                        contact_id=contact.id,
                        kind=kind,
                        address=address,
                        verified=contact.verified,
                        created_at=now,
                        updated_at=now,
                    )
                )
        # Open conversations for every thread key and every (inbox, contact) without one.
        inbox_ids = {i.inbox.id for i in batch}
        thread_keys = {i.msg.thread_key for i in batch if i.msg.thread_key}
        by_thread: dict[tuple[int, str], Conversation] = {}
        if thread_keys:
            for conv in (
                await session.execute(
                    select(Conversation)
                    .where(
                        Conversation.inbox_id.in_(inbox_ids),
                        Conversation.thread_key.in_(thread_keys),
                        Conversation.status != "closed",
                    )
                    .order_by(Conversation.id)
                )
            ).scalars():
                by_thread[(conv.inbox_id, conv.thread_key or "")] = conv
        contact_pairs = {
            (i.inbox.id, owners[(i.sender.kind, i.sender.address)])
            for i in batch
            if not i.msg.thread_key and (i.sender.kind, i.sender.address) in owners
        }
        by_contact: dict[tuple[int, int], Conversation] = {}
        if contact_pairs:
            for conv in (
                await session.execute(
                    select(Conversation)
                    .where(
                        tuple_(Conversation.inbox_id, Conversation.contact_id).in_(list(contact_pairs)),
                        Conversation.thread_key.is_(None),
                        Conversation.status != "closed",
                    )
                    .order_by(Conversation.id)
                )
            ).scalars():
                by_contact[(conv.inbox_id, conv.contact_id)] = conv
        plan: list[tuple[int, Pending, Conversation, bool, int]] = []
        created_convs: list[Conversation] = []
        seen_in_batch: dict[tuple[int, str], int] = {}
        for idx, item in enumerate(batch):
            pair = (item.inbox.id, item.msg.provider_id)
            if pair in stored:
                mid, cid, contact_id = stored[pair]
                out[idx] = (IngestResult(message_id=mid, conversation_id=cid, contact_id=contact_id, created=False), [])
                continue
            if pair in seen_in_batch:
                continue  # a retry inside this very batch: answered from the first copy below
            seen_in_batch[pair] = idx
            contact_id = owners[(item.sender.kind, item.sender.address)]
            tkey = (item.inbox.id, item.msg.thread_key or "")
            ckey = (item.inbox.id, contact_id)
            found = by_thread.get(tkey) if item.msg.thread_key else by_contact.get(ckey)
            if found is None:
                found = new_conversation(
                    item.inbox,
                    contact_id,
                    subject=item.msg.subject,
                    thread_key=item.msg.thread_key,
                    preview=item.text,
                    now=now,
                )
                created_convs.append(found)
                if item.msg.thread_key:
                    by_thread[tkey] = found
                else:
                    by_contact[ckey] = found
                plan.append((idx, item, found, True, contact_id))
            else:
                plan.append((idx, item, found, False, contact_id))
        if created_convs:
            session.add_all(created_convs)
            await session.flush()
        rows: list[tuple[int, Pending, Conversation, bool, int, Message, bool]] = []
        first_seen: set[int] = set()
        for idx, item, conv, created, contact_id in plan:
            new_here = created and id(conv) not in first_seen
            first_seen.add(id(conv))
            text = item.text
            reopened = record_inbound(
                session, conv, created=new_here, inbox=item.inbox, contact_id=contact_id, preview=text, now=now
            )
            message = Message(
                conversation_id=conv.id,
                inbox_id=item.inbox.id,
                direction="in",
                author_kind="contact",
                author_id=contact_id,
                text=text,
                html=item.html,
                provider_id=item.msg.provider_id,
                status="received",
                attempts=0,
                meta={**item.msg.meta, **({"automated": True} if item.msg.automated else {})},
                created_at=item.msg.sent_at or now,
                updated_at=now,
            )
            session.add(message)
            rows.append((idx, item, conv, new_here, contact_id, message, reopened))
        await session.flush()
        for idx, item, conv, new_here, contact_id, message, reopened in rows:
            pending = inbound_events(
                conv,
                msgspec.to_builtins(message_out(message)),
                created=new_here,
                reopened=reopened,
                automated=item.msg.automated,
                contact_id=contact_id,
            )
            out[idx] = (
                IngestResult(
                    message_id=message.id,
                    conversation_id=conv.id,
                    contact_id=contact_id,
                    created=True,
                    conversation_created=new_here,
                ),
                pending,
            )
    for idx, item in enumerate(batch):
        if out[idx] is None:  # an in-batch retry: same answer as its first copy, marked as a duplicate
            first = out[seen_in_batch[(item.inbox.id, item.msg.provider_id)]]
            assert first is not None
            out[idx] = (msgspec.structs.replace(first[0], created=False, conversation_created=False), [])
    return [o for o in out if o is not None]
