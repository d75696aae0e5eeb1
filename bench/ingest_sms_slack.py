"""Ingest throughput of the SMS (Twilio) and Slack webhooks: messages/s stored by one server process.

Starts one `uvicorn hub.asgi:app` process on a fresh embedded database (or DATABASE_URL/REDIS_URL given on
the command line), creates one SMS and one Slack inbox, then posts a bounded number of correctly signed
webhook requests per channel with a fixed concurrency and prints the figures. A local Slack API double
answers users.info (profiles are cached, so it is asked once per user).

    .venv/bin/python bench/ingest_sms_slack.py --messages 2000 --concurrency 32
    .venv/bin/python bench/ingest_sms_slack.py --database-url postgresql://postgres@127.0.0.1:5432/benchdb \
        --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def slack_double(port: int) -> web.AppRunner:
    async def handle(request: web.Request) -> web.Response:
        user = request.query.get("user") or (await request.post()).get("user") or "U0"
        return web.json_response(
            {"ok": True, "user": {"id": user, "name": user.lower(), "profile": {"real_name": f"User {user}"}}}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def prepare(env: dict[str, str], slack_api: str, base_url: str) -> dict[str, Any]:
    from hub import crypto, db
    from hub.migrate import upgrade
    from hub.models import Inbox
    from hub.settings import load_settings

    settings = load_settings(env, dotenv=False)
    crypto.configure(settings.secret_key)
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    db.init_engine(settings.effective_database_url)
    twilio_token, slack_secret = secrets.token_hex(16), secrets.token_hex(16)
    async with db.session_scope() as s:
        sms = Inbox(
            name=f"bench-sms-{secrets.token_hex(3)}",
            channel="sms",
            public_token=secrets.token_urlsafe(18),
            settings={"phone_number": "+14155550100", "public_base_url": base_url},
            credentials={"account_sid": "AC" + secrets.token_hex(16), "auth_token": twilio_token},
        )
        slack = Inbox(
            name=f"bench-slack-{secrets.token_hex(3)}",
            channel="slack",
            public_token=secrets.token_urlsafe(18),
            settings={"api_host": slack_api},
            credentials={"bot_token": "xoxb-bench", "signing_secret": slack_secret},
        )
        s.add_all([sms, slack])
    return {
        "sms": (sms.id, sms.public_token, twilio_token),
        "slack": (slack.id, slack.public_token, slack_secret),
    }


def sms_requests(base_url: str, token: str, auth_token: str, n: int, customers: int) -> list[tuple[str, Any, dict]]:
    url = f"{base_url}/webhooks/twilio/{token}/sms"
    validator = RequestValidator(auth_token)
    out = []
    for i in range(n):
        form = {
            "MessageSid": f"SM{secrets.token_hex(16)}",
            "AccountSid": "ACbench",
            "From": f"+1646555{i % customers:04d}",
            "To": "+14155550100",
            "Body": f"bench message {i}",
            "NumMedia": "0",
        }
        out.append((url, {"data": form}, {"X-Twilio-Signature": validator.compute_signature(url, form)}))
    return out


def slack_requests(base_url: str, token: str, secret: str, n: int, users: int) -> list[tuple[str, Any, dict]]:
    url = f"{base_url}/webhooks/slack/{token}/events"
    verifier = SignatureVerifier(secret)
    threads: dict[int, str] = {}
    out = []
    for i in range(n):
        user = i % users
        ts = f"{1_700_000_000 + i}.{i:06d}"
        event = {
            "type": "message",
            "user": f"U{user:06d}",
            "text": f"bench {i}",
            "ts": ts,
            "channel": "C0BENCH",
            "channel_type": "channel",
            "team": "T0BENCH",
        }
        if user in threads:
            event["thread_ts"] = threads[user]
        else:
            threads[user] = ts
        body = json.dumps({"type": "event_callback", "team_id": "T0BENCH", "event_id": f"Ev{i}", "event": event})
        out.append((url, {"content": body.encode()}, {"content-type": "application/json", "_body": body}))
    # Timestamps are signed when sent (Slack rejects requests older than five minutes).
    for _, _, headers in out:
        headers["_verifier"] = verifier
    return out


async def fire(requests: list[tuple[str, Any, dict]], concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[str, Any, dict]] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                url, kwargs, headers = queue.get_nowait()
                headers = dict(headers)
                verifier = headers.pop("_verifier", None)
                body = headers.pop("_body", None)
                if verifier is not None:
                    stamp = str(int(time.time()))
                    headers["X-Slack-Request-Timestamp"] = stamp
                    headers["X-Slack-Signature"] = verifier.generate_signature(timestamp=stamp, body=body)
                t0 = time.perf_counter()
                resp = await http.post(url, headers=headers, **kwargs)
                latencies.append(time.perf_counter() - t0)
                if resp.status_code != 200:
                    errors += 1
                    if errors <= 3:
                        print(f"  error {resp.status_code}: {resp.text[:200]}", file=sys.stderr)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, errors


async def count(inbox_id: int) -> int:
    from hub import db
    from hub.models import Message

    async with db.session_scope() as s:
        return int((await s.execute(select(func.count(Message.id)).where(Message.inbox_id == inbox_id))).scalar_one())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="messages per channel")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--customers", type=int, default=200, help="distinct senders per channel")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="hub-bench-")
    port, slack_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        "HUB_DATA_DIR": data_dir,
        "HUB_SECRET_KEY": secrets.token_urlsafe(40),
        "HUB_PORT": str(port),
        "HUB_SMTP_ENABLED": "false",
        "HUB_SEED_DEMO": "false",
        "HUB_LOG_LEVEL": "warning",
    }
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
        env["HUB_REDIS_NAMESPACE"] = f"bench-{secrets.token_hex(3)}"
    runner = await slack_double(slack_port)
    inboxes = await prepare(env, f"http://127.0.0.1:{slack_port}/api/", base_url)
    log = Path(data_dir) / "server.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "hub.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
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
                    if (await http.get(f"{base_url}/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start:\n{log.read_text()}")
                await asyncio.sleep(0.1)
        db_kind = "PostgreSQL" if args.database_url else "SQLite (embedded)"
        print(
            f"one server process, {db_kind}, {args.messages} messages per channel, "
            f"concurrency {args.concurrency}, {args.customers} senders"
        )
        plans = {
            "sms": sms_requests(base_url, inboxes["sms"][1], inboxes["sms"][2], args.messages, args.customers),
            "slack": slack_requests(base_url, inboxes["slack"][1], inboxes["slack"][2], args.messages, args.customers),
        }
        for channel, plan in plans.items():
            elapsed, lat, errors = await fire(plan, args.concurrency)
            stored = await count(inboxes[channel][0])
            lat.sort()
            p95 = lat[int(len(lat) * 0.95) - 1] * 1000 if lat else 0.0
            print(
                f"{channel:6s} {len(plan) / elapsed:8.1f} msg/s   stored {stored}/{len(plan)}   errors {errors}   "
                f"latency p50 {statistics.median(lat) * 1000:.1f} ms  p95 {p95:.1f} ms   ({elapsed:.1f}s)"
            )
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        await runner.cleanup()
        from hub import db

        await db.dispose_engine()


if __name__ == "__main__":
    asyncio.run(main())
