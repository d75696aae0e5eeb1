"""Report query time over 100k resolved conversations and 1M messages, on SQLite and on PostgreSQL.

    .venv/bin/python bench/reports.py                 # both backends
    .venv/bin/python bench/reports.py --only sqlite   # or --only pg
    BENCH_CONVERSATIONS=20000 .venv/bin/python bench/reports.py

The data is bulk-loaded (sqlite3 executemany, PostgreSQL COPY), not pushed through ingest: the bench measures
the report queries, which read only `conversation_metrics` / `response_metrics` (kept by event subscribers
in real use). PostgreSQL uses its own throw-away database on HUB_BENCH_PG (default: the local server),
created and dropped by the bench. Each figure is the median of several runs after one warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub import crypto  # noqa: E402

N_CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "100000"))
MESSAGES_PER_CONVERSATION = 10
DAYS = 90
RUNS = 5
PG_ADMIN_URL = os.environ.get(
    "HUB_BENCH_PG", os.environ.get("HUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
)
GROUPS = ("none", "day", "week", "agent", "team", "inbox", "channel", "tag")
CHANNELS = ("email", "sms", "chat", "slack")


def generate(seed: int = 7) -> dict[str, list[tuple[Any, ...]]]:
    """Rows for every table, as tuples in the column order of COLUMNS."""
    rnd = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=DAYS - 1)
    start = start.replace(hour=0, minute=0, second=0)
    creds = crypto.encrypt(b"{}")
    rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in COLUMNS}
    for t in range(1, 4):
        rows["teams"].append((t, f"Team {t}", "", now, now))
    for u in range(1, 31):
        rows["users"].append(
            (u, f"agent{u}@bench.test", f"Agent {u}", "", "agent", True, "online", 10, "UTC", now, now)
        )
        rows["team_members"].append(((u % 3) + 1, u))
    for i, channel in enumerate(CHANNELS, start=1):
        rows["inboxes"].append(
            (i, f"{channel} inbox", channel, secrets.token_urlsafe(12), "{}", creds, (i % 3) + 1, "UTC", True, now, now)
        )
    msg_id = 0
    resp_id = 0
    # Conversations arrive over time, so ids (and the metrics rows written when they open) follow creation.
    created_times = sorted(rnd.randint(0, DAYS * 86400 - 7200) for _ in range(N_CONVERSATIONS))
    for c in range(1, N_CONVERSATIONS + 1):
        inbox = (c % 4) + 1
        channel = CHANNELS[inbox - 1]
        team = (inbox % 3) + 1
        agent = rnd.randint(1, 30)
        created = start + timedelta(seconds=created_times[c - 1])
        frt = rnd.lognormvariate(7, 1.2)
        resolution = frt + rnd.lognormvariate(9, 1.0)
        resolved = created + timedelta(seconds=resolution)
        rows["contacts"].append((c, f"Customer {c}", "", "{}", False, created, created))
        rows["conversations"].append(
            (
                c,
                inbox,
                c,
                "resolved",
                "none",
                agent,
                team,
                f"Question {c}",
                channel,
                resolved,
                "thanks",
                created + timedelta(seconds=frt),
                resolved,
                MESSAGES_PER_CONVERSATION,
                "{}",
                created,
                resolved,
            )
        )
        targets = rnd.choice((2, 2, 3))
        breaches = 1 if rnd.random() < 0.12 else 0
        score = rnd.choice((None, None, 3, 4, 5, 5, 2))
        rows["conversation_metrics"].append(
            (
                c,
                inbox,
                channel,
                team,
                agent,
                1,
                created,
                created + timedelta(seconds=frt),
                frt,
                frt * 0.6,
                resolved,
                resolution,
                resolution * 0.5,
                1,
                targets,
                breaches,
                score,
            )
        )
        if c % 3 == 0:
            rows["conversation_tags"].append((c, rnd.choice(("billing", "bug", "vip", "refund"))))
        t = created
        for m in range(MESSAGES_PER_CONVERSATION):
            msg_id += 1
            t = t + timedelta(seconds=rnd.randint(30, 3600))
            inbound = m % 2 == 0
            rows["messages"].append(
                (
                    msg_id,
                    c,
                    inbox,
                    "in" if inbound else "out",
                    "contact" if inbound else "agent",
                    c if inbound else agent,
                    f"message {m} of conversation {c}: lorem ipsum dolor sit amet",
                    f"bench-{msg_id}" if inbound else None,
                    "received" if inbound else "sent",
                    0,
                    "{}",
                    t,
                    t,
                )
            )
        for _ in range(2):
            resp_id += 1
            waited = rnd.lognormvariate(6.5, 1.1)
            at = created + timedelta(seconds=frt + rnd.randint(600, 7200))
            rows["response_metrics"].append(
                (
                    resp_id,
                    c,
                    "next",
                    inbox,
                    channel,
                    team,
                    agent,
                    at - timedelta(seconds=waited),
                    at,
                    waited,
                    waited * 0.7,
                )
            )
    return rows


COLUMNS: dict[str, tuple[str, ...]] = {
    "teams": ("id", "name", "description", "created_at", "updated_at"),
    "users": (
        "id",
        "email",
        "name",
        "password_hash",
        "role",
        "active",
        "availability",
        "capacity",
        "time_zone",
        "created_at",
        "updated_at",
    ),
    "team_members": ("team_id", "user_id"),
    "inboxes": (
        "id",
        "name",
        "channel",
        "public_token",
        "settings",
        "credentials",
        "team_id",
        "time_zone",
        "active",
        "created_at",
        "updated_at",
    ),
    "contacts": ("id", "name", "company", "attributes", "verified", "created_at", "updated_at"),
    "conversations": (
        "id",
        "inbox_id",
        "contact_id",
        "status",
        "priority",
        "assignee_id",
        "team_id",
        "subject",
        "channel",
        "last_activity_at",
        "last_message_preview",
        "first_response_at",
        "resolved_at",
        "message_count",
        "attributes",
        "created_at",
        "updated_at",
    ),
    "conversation_metrics": (
        "conversation_id",
        "inbox_id",
        "channel",
        "team_id",
        "assignee_id",
        "sla_policy_id",
        "created_at",
        "first_response_at",
        "first_response_seconds",
        "first_response_bh_seconds",
        "resolved_at",
        "resolution_seconds",
        "resolution_bh_seconds",
        "resolutions",
        "sla_targets",
        "sla_breaches",
        "csat_score",
    ),
    "conversation_tags": ("conversation_id", "tag"),
    "messages": (
        "id",
        "conversation_id",
        "inbox_id",
        "direction",
        "author_kind",
        "author_id",
        "text",
        "provider_id",
        "status",
        "attempts",
        "meta",
        "created_at",
        "updated_at",
    ),
    "response_metrics": (
        "id",
        "conversation_id",
        "kind",
        "inbox_id",
        "channel",
        "team_id",
        "agent_id",
        "waiting_since",
        "responded_at",
        "seconds",
        "bh_seconds",
    ),
}
ORDER = (
    "teams",
    "users",
    "team_members",
    "inboxes",
    "contacts",
    "conversations",
    "conversation_metrics",
    "conversation_tags",
    "messages",
    "response_metrics",
)


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return v


def load_sqlite(path: Path, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        for table in ORDER:
            cols = COLUMNS[table]
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            conn.executemany(sql, ([_sqlite_value(v) for v in row] for row in rows[table]))
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def load_pg(dsn: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for table in ORDER:
            # JSON columns are given as text: asyncpg's default json codec passes strings through.
            await conn.copy_records_to_table(table, records=rows[table], columns=list(COLUMNS[table]))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def time_reports(url: str) -> dict[str, float]:
    from hub import db
    from ticketing import reports

    db.init_engine(url)
    today = datetime.now(UTC).date()
    first = today - timedelta(days=DAYS - 1)
    out: dict[str, float] = {}
    try:
        for group in GROUPS:
            query = reports.ReportQuery.build(first, today, group)
            samples = []
            for i in range(RUNS + 1):
                t0 = time.perf_counter()
                async with db.session_scope() as session:
                    result = await reports.run(session, query)
                elapsed = (time.perf_counter() - t0) * 1000
                if i:
                    samples.append(elapsed)
            total = sum(r["conversations"] for r in result["rows"])
            out[group] = statistics.median(samples)
            print(f"  group_by={group:<8} {out[group]:8.1f} ms   ({len(result['rows'])} rows, {total} conversations)")
    finally:
        await db.dispose_engine()
    return out


def bench_sqlite(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, float]:
    from hub.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        t0 = time.perf_counter()
        load_sqlite(path, rows)
        print(f"SQLite: loaded in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        return asyncio.run(time_reports(url))


def bench_pg(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, float] | None:
    import asyncpg

    from hub.migrate import upgrade

    name = f"hub_bench_{os.getpid()}_{secrets.token_hex(3)}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return None
    try:
        url = f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
        upgrade(url)
        t0 = time.perf_counter()
        asyncio.run(load_pg(f"{base}/{name}", rows))
        print(f"PostgreSQL: loaded in {time.perf_counter() - t0:.1f} s (COPY)")
        return asyncio.run(time_reports(url))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def calibrate() -> float:
    """Milliseconds to sort 100k random floats: about 10-15 ms on an idle laptop core. A much larger figure
    means the machine is busy and every timing below is inflated by about the same factor."""
    rnd = random.Random(1)
    values = [rnd.random() for _ in range(100_000)]
    samples = []
    for _ in range(5):
        copy = list(values)
        t0 = time.perf_counter()
        copy.sort()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("sqlite", "pg"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON at the end")
    args = parser.parse_args()
    crypto.configure(secrets.token_urlsafe(40))
    t0 = time.perf_counter()
    rows = generate()
    print(
        f"Generated {len(rows['conversations'])} resolved conversations, {len(rows['messages'])} messages, "
        f"{len(rows['response_metrics'])} responses in {time.perf_counter() - t0:.1f} s"
    )
    print(f"Machine check: sorting 100k floats takes {calibrate():.1f} ms (idle machine: about 10-15 ms)")
    results: dict[str, Any] = {}
    if args.only in (None, "sqlite"):
        results["sqlite"] = bench_sqlite(rows)
    if args.only in (None, "pg"):
        results["postgresql"] = bench_pg(rows)
    budget = 250.0
    for backend, figures in results.items():
        if figures:
            worst = max(figures.values())
            verdict = "within" if worst <= budget else "OVER"
            print(f"{backend}: slowest report {worst:.1f} ms ({verdict} the {budget:.0f} ms budget)")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
