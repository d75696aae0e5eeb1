"""Email ingest throughput over SMTP: messages/s stored by one server process's SMTP listener.

Starts one `uvicorn hub.asgi:app` process with its SMTP listener on, creates one email inbox, and sends a
bounded number of distinct messages (each a new mail or a reply threading into an earlier one) over a fixed
number of concurrent SMTP connections with aiosmtplib. Every 250 means the message was committed, so
messages/s here is stored messages per second. Runs on the embedded SQLite database, then on PostgreSQL
(+ Redis) when they answer (a throwaway database is created and dropped).

    .venv/bin/python bench/ingest_email.py --messages 2000 --connections 16
    .venv/bin/python bench/ingest_email.py --skip-pg
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("HUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
QUIET = ["--log-level", "warning", "--no-access-log"]
REDIS = os.environ.get("HUB_TEST_REDIS", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_messages(address: str, n: int, senders: int) -> list[bytes]:
    """n distinct messages; a third of them reply to the sender's previous mail (References threading)."""
    out: list[bytes] = []
    last: dict[int, str] = {}
    for i in range(n):
        who = i % senders
        msg = EmailMessage()
        msg["From"] = f"Customer {who} <customer{who}@bench.test>"
        msg["To"] = address
        mid = f"bench-{i}-{secrets.token_hex(6)}@bench.test"
        msg["Message-ID"] = f"<{mid}>"
        if who in last and i % 3 == 0:
            msg["Subject"] = f"Re: question {who}"
            msg["In-Reply-To"] = f"<{last[who]}>"
            msg["References"] = f"<{last[who]}>"
            msg.set_content(f"Follow-up {i}.\n\nOn Monday, Support wrote:\n> We are on it.\n")
        else:
            msg["Subject"] = f"question {who}"
            msg.set_content(f"Hello, this is message {i}. The printer says PC LOAD LETTER.\n")
            msg.add_alternative(f"<p>Hello, this is message <b>{i}</b>.</p>", subtype="html")
        last[who] = mid
        out.append(msg.as_bytes())
    return out


async def prepare(env: dict[str, str]) -> tuple[int, str]:
    from hub import crypto, db
    from hub.migrate import upgrade
    from hub.models import Inbox
    from hub.settings import load_settings

    settings = load_settings(env, dotenv=False)
    crypto.configure(settings.secret_key)
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    db.init_engine(settings.effective_database_url)
    address = f"bench-{secrets.token_hex(3)}@acme.test"
    async with db.session_scope() as s:
        inbox = Inbox(
            name=f"bench-email-{secrets.token_hex(3)}",
            channel="email",
            public_token=secrets.token_urlsafe(18),
            settings={"address": address},
            credentials={},
        )
        s.add(inbox)
    return inbox.id, address


async def count(inbox_id: int) -> int:
    from hub import db
    from hub.models import Message

    async with db.session_scope() as s:
        return int((await s.execute(select(func.count(Message.id)).where(Message.inbox_id == inbox_id))).scalar_one())


async def fire(port: int, address: str, messages: list[bytes], connections: int) -> tuple[float, list[float], int]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60) as smtp:
            while not queue.empty():
                raw = queue.get_nowait()
                t0 = time.perf_counter()
                try:
                    await smtp.sendmail("bounce@bench.test", [address], raw)
                except aiosmtplib.SMTPException as exc:
                    errors += 1
                    if errors <= 3:
                        print(f"  error: {exc}", file=sys.stderr)
                latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - start, latencies, errors


async def run(label: str, env: dict[str, str], args: argparse.Namespace) -> None:
    from hub import db

    inbox_id, address = await prepare(env)
    port, smtp_port = free_port(), free_port()
    env = {**env, "HUB_PORT": str(port), "HUB_SMTP_ENABLED": "true", "HUB_SMTP_PORT": str(smtp_port)}
    log = Path(env["HUB_DATA_DIR"]) / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "hub.asgi:app", "--host", "127.0.0.1", "--port", str(port), *QUIET],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start:\n{log.read_text()}")
                await asyncio.sleep(0.1)
        messages = build_messages(address, args.messages, args.senders)
        elapsed, lat, errors = await fire(smtp_port, address, messages, args.connections)
        stored = await count(inbox_id)
        lat.sort()
        p95 = lat[int(len(lat) * 0.95) - 1] * 1000 if lat else 0.0
        print(
            f"{label:28s} {len(messages) / elapsed:8.1f} msg/s   stored {stored}/{len(messages)}   errors {errors}   "
            f"latency p50 {statistics.median(lat) * 1000:.1f} ms  p95 {p95:.1f} ms   ({elapsed:.1f}s)"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        await db.dispose_engine()


async def pg_available() -> str | None:
    import asyncpg
    import redis.asyncio as aioredis

    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN), 5)
        await conn.close()
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN} does not answer ({exc})"
    try:
        client = aioredis.Redis.from_url(REDIS)
        await asyncio.wait_for(client.ping(), 5)
        await client.aclose()
    except Exception as exc:
        return f"Redis at {REDIS} does not answer ({exc})"
    return None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16, help="concurrent SMTP connections")
    parser.add_argument("--senders", type=int, default=200, help="distinct customers")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    print(
        f"one server process, SMTP listener, {args.messages} messages, {args.connections} connections, "
        f"{args.senders} senders"
    )
    base = {"HUB_SECRET_KEY": secrets.token_urlsafe(40), "HUB_SEED_DEMO": "false", "HUB_LOG_LEVEL": "warning"}
    await run("SQLite (embedded)", {**base, "HUB_DATA_DIR": tempfile.mkdtemp(prefix="hub-bench-email-")}, args)
    if args.skip_pg:
        return
    reason = await pg_available()
    if reason is not None:
        print(f"PostgreSQL + Redis: skipped: {reason}")
        return
    import asyncpg

    name = f"hub_bench_email_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        env = {
            **base,
            "HUB_DATA_DIR": tempfile.mkdtemp(prefix="hub-bench-email-"),
            "DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + f"/{name}",
            "REDIS_URL": REDIS,
            "HUB_REDIS_NAMESPACE": f"bench-{secrets.token_hex(3)}",
        }
        await run("PostgreSQL + Redis", env, args)
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
