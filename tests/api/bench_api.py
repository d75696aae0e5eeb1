"""Benchmark of the API's hot queries at scale (not collected by pytest; run by hand):

    .venv/bin/python -m tests.api.bench_api              # embedded SQLite
    .venv/bin/python -m tests.api.bench_api --pg         # a throw-away PostgreSQL database

Seeds 100k conversations and 1M messages, then times the conversation list (filters, deep cursor pages)
and timelines through the service functions the controllers call. Prints p50/p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from hub import crypto, db
from hub.auth.principal import Principal
from hub.migrate import upgrade_async
from hub.models import Contact, Conversation, ConversationTag, Event, Inbox, Message
from hub.services import contacts, conversations
from hub.services.conversations import ConversationFilters
from tests.stacks import create_database, drop_database, embedded_stack, pg_stack

CONVERSATIONS = 100_000
MESSAGES = 1_000_000
INBOXES = 20
CONTACTS = 20_000
BIG = 5_000  # messages in the one long conversation whose timeline is paged
CHUNK = 10_000


async def seed() -> None:
    rnd = random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    async with db.session_scope() as s:
        await s.execute(
            insert(Inbox),
            [
                {
                    "id": i,
                    "name": f"inbox {i}",
                    "channel": "api",
                    "public_token": f"tok{i}",
                    "settings": {},
                    "credentials": {},
                    "time_zone": "UTC",
                    "active": True,
                }
                for i in range(1, INBOXES + 1)
            ],
        )
    for start in range(1, CONTACTS + 1, CHUNK):
        async with db.session_scope() as s:
            await s.execute(
                insert(Contact),
                [
                    {
                        "id": i,
                        "name": f"Contact {i}",
                        "email": f"c{i}@example.org",
                        "company": "",
                        "attributes": {},
                        "verified": False,
                    }
                    for i in range(start, min(start + CHUNK, CONTACTS + 1))
                ],
            )
    statuses = ["open"] * 5 + ["pending", "snoozed", "resolved", "resolved", "closed"]
    for start in range(1, CONVERSATIONS + 1, CHUNK):
        rows = []
        tags = []
        for i in range(start, min(start + CHUNK, CONVERSATIONS + 1)):
            at = base + timedelta(seconds=rnd.randrange(0, 300 * 24 * 3600))
            rows.append(
                {
                    "id": i,
                    "inbox_id": rnd.randrange(1, INBOXES + 1),
                    "contact_id": rnd.randrange(1, CONTACTS + 1),
                    "status": rnd.choice(statuses),
                    "priority": "none",
                    "subject": f"subject {i} order {i % 977}",
                    "channel": "api",
                    "last_activity_at": at,
                    "created_at": at,
                    "updated_at": at,
                    "last_message_preview": f"preview {i}",
                    "message_count": 10,
                    "attributes": {},
                }
            )
            if i % 50 == 0:
                tags.append({"conversation_id": i, "tag": "vip"})
        async with db.session_scope() as s:
            await s.execute(insert(Conversation), rows)
            await s.execute(insert(ConversationTag), tags)
    msg_id = 0
    remaining = MESSAGES - BIG
    per = remaining // CONVERSATIONS
    conv_ids = list(range(1, CONVERSATIONS + 1))
    for start in range(0, CONVERSATIONS, CHUNK // per):
        rows = []
        for conv in conv_ids[start : start + CHUNK // per]:
            for k in range(per):
                msg_id += 1
                at = base + timedelta(minutes=k)
                rows.append(
                    {
                        "id": msg_id,
                        "conversation_id": conv,
                        "inbox_id": 1 + conv % INBOXES,
                        "direction": "in",
                        "author_kind": "contact",
                        "text": "hello there",
                        "status": "received",
                        "meta": {},
                        "attempts": 0,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
        async with db.session_scope() as s:
            await s.execute(insert(Message), rows)
    big_conv = 1
    for start in range(0, BIG, CHUNK):
        rows = []
        events = []
        for k in range(start, min(start + CHUNK, BIG)):
            msg_id += 1
            at = base + timedelta(minutes=100 + k)
            rows.append(
                {
                    "id": msg_id,
                    "conversation_id": big_conv,
                    "inbox_id": 1,
                    "direction": "out",
                    "author_kind": "agent",
                    "text": "reply",
                    "status": "sent",
                    "meta": {},
                    "attempts": 0,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if k % 5 == 0:
                events.append(
                    {
                        "kind": "conversation.priority_changed",
                        "conversation_id": big_conv,
                        "contact_id": None,
                        "inbox_id": 1,
                        "actor_kind": "agent",
                        "data": {},
                        "created_at": at,
                    }
                )
        async with db.session_scope() as s:
            await s.execute(insert(Message), rows)
            await s.execute(insert(Event), events)
    async with db.session_scope() as s:
        if db.is_postgres(s):
            for table in ("inboxes", "contacts", "conversations", "messages", "events"):
                await s.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    async with db.get_engine().connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()


async def timed(name: str, fn: Callable[[], Awaitable[Any]], runs: int = 60) -> None:
    await fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{name:55s} p50 {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms")


async def measure() -> None:
    admin = Principal(1, "a@x", "A", "admin", None)
    agent = Principal(2, "b@x", "B", "agent", frozenset({1, 2, 3}))

    async def deep_page(who: Principal, pages: int, **f: Any) -> None:
        cursor = None
        for _ in range(pages):
            page = await conversations.list_conversations(who, ConversationFilters(**f), cursor=cursor, limit=50)
            cursor = page.next_cursor

    async def timeline_pages(pages: int) -> None:
        cursor = None
        for _ in range(pages):
            page = await conversations.conversation_timeline(admin, 1, cursor=cursor, limit=50, order="desc")
            cursor = page.next_cursor

    await timed("list, admin, first page", lambda: deep_page(admin, 1))
    await timed("list, admin, status=open, first page", lambda: deep_page(admin, 1, status=["open"]))
    await timed("list, admin, inbox 5, first page", lambda: deep_page(admin, 1, inbox_id=5))
    await timed("list, agent (3 inboxes), first page", lambda: deep_page(agent, 1))
    await timed("list, agent, status=open", lambda: deep_page(agent, 1, status=["open"]))
    await timed("list, admin, tag=vip", lambda: deep_page(admin, 1, tag="vip"))
    await timed("list, admin, assignee=none", lambda: deep_page(admin, 1, assignee="none"))
    await timed("list, admin, q='order 5' (scan)", lambda: deep_page(admin, 1, q="order 5"), runs=10)
    await timed("list, admin, 10 pages deep (per 10 pages)", lambda: deep_page(admin, 10), runs=10)
    await timed("conversation timeline (5k msgs), first page", lambda: timeline_pages(1))
    await timed("conversation timeline, 20 pages (per 20 pages)", lambda: timeline_pages(20), runs=10)
    await timed(
        "conversation timeline, small conversation",
        lambda: conversations.conversation_timeline(admin, 77_777, cursor=None, limit=50, order="desc"),
    )
    await timed("contact timeline", lambda: contacts.contact_timeline(admin, 1234, cursor=None, limit=50, order="desc"))


async def explain() -> None:
    """The plans behind the numbers: each list page and timeline page should be an index range scan."""
    from sqlalchemy import select, tuple_

    at = datetime(2025, 6, 1, tzinfo=UTC)
    queries = {
        "list admin, cursor": select(Conversation.id)
        .where(tuple_(Conversation.last_activity_at, Conversation.id) < tuple_(at, 10**9))
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(51),
        "list agent, one inbox's range": select(Conversation.id)
        .where(Conversation.inbox_id == 2)
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(51),
        "timeline messages, cursor": select(Message.id)
        .where(Message.conversation_id == 1, Message.id < 999_000)
        .order_by(Message.id.desc())
        .limit(51),
    }
    async with db.session_scope() as s:
        prefix = "EXPLAIN ANALYZE " if db.is_postgres(s) else "EXPLAIN QUERY PLAN "
        for name, query in queries.items():
            compiled = query.compile(s.bind, compile_kwargs={"literal_binds": True})
            rows = (await s.execute(text(prefix + str(compiled)))).all()
            print(f"-- {name}")
            for row in rows:
                print("   ", " ".join(str(c) for c in row))


async def main(pg: bool) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    database = await create_database() if pg else None
    stack = pg_stack(data_dir, database) if database else embedded_stack(data_dir)
    try:
        crypto.configure(stack.settings.secret_key)
        await upgrade_async(stack.settings.effective_database_url)
        db.init_engine(stack.settings.effective_database_url)
        t = time.perf_counter()
        await seed()
        print(
            f"seeded {CONVERSATIONS} conversations, {MESSAGES} messages in {time.perf_counter() - t:.0f}s ({stack.name})"
        )
        await measure()
        await explain()
    finally:
        await db.dispose_engine()
        if database:
            await drop_database(database)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", action="store_true")
    asyncio.run(main(parser.parse_args().pg))
