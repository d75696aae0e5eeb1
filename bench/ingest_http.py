"""Messages/s ingested over HTTP by one server process (generic API channel: signed JSON in, stored,
fanned out to a connected agent), against a trivial endpoint of the same app measured in the same run.

    .venv/bin/python bench/ingest_http.py [--messages 20000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time

import websockets

from bench import loadgen
from bench.servers import server, stack
from channels.api.signing import signature


async def _setup(st, base_url: str) -> tuple[str, str, str]:
    """An API inbox and an admin token, created through the app's own services."""
    from hub import crypto, db
    from hub.crypto import token_hash
    from hub.models import ApiToken, Inbox, User

    crypto.configure(st.settings.secret_key)
    db.init_engine(st.settings.effective_database_url)
    secret = secrets.token_urlsafe(24)
    tok = "hub_" + secrets.token_urlsafe(24)
    async with db.session_scope() as s:
        inbox = Inbox(
            name="bench",
            channel="api",
            public_token=secrets.token_urlsafe(12),
            settings={},
            credentials={"hmac_secret": secret},
        )
        user = User(email=f"bench-{secrets.token_hex(3)}@example.test", name="Bench", role="admin")
        s.add_all([inbox, user])
        await s.flush()
        s.add(ApiToken(user_id=user.id, name="bench", token_hash=token_hash(tok), prefix=tok[:8]))
        public = inbox.public_token
    await db.dispose_engine()
    return public, secret, tok


def _requests(public: str, secret: str, host: str, n: int, senders: int) -> list[bytes]:
    out = []
    for i in range(n):
        body = json.dumps(
            {
                "id": f"b{i}-{secrets.token_hex(4)}",
                "sender": {"id": f"s{i % senders}"},
                "text": f"benchmark message {i}",
            }
        ).encode()
        out.append(
            loadgen.build_request(
                "POST",
                f"/webhooks/api/{public}/messages",
                host,
                body,
                {"Content-Type": "application/json", "X-Hub-Signature": signature(secret, body)},
            )
        )
    return out


async def _measure(srv, public: str, secret: str, tok: str, messages: int, concurrency: int) -> dict[str, float]:
    host = f"127.0.0.1:{srv.port}"
    trivial = [loadgen.build_request("GET", "/health", host)]
    await loadgen.run("127.0.0.1", srv.port, trivial, 2000, concurrency)  # warm up
    base = await loadgen.run("127.0.0.1", srv.port, trivial, messages, concurrency)
    reqs = _requests(public, secret, host, messages + 2000, senders=max(1, messages // 10))
    received = 0

    async def agent() -> None:
        nonlocal received
        async with websockets.connect(
            f"ws://{host}/ws/agent", additional_headers={"Authorization": f"Bearer {tok}"}
        ) as ws:
            async for raw in ws:
                if b'"message.created"' in (raw if isinstance(raw, bytes) else raw.encode()):
                    received += 1

    listener = asyncio.create_task(agent())
    await asyncio.sleep(0.5)
    await loadgen.run("127.0.0.1", srv.port, reqs[:2000], 2000, concurrency)  # warm up
    received = 0
    t0 = time.perf_counter()
    res = await loadgen.run("127.0.0.1", srv.port, reqs[2000:], messages, concurrency)
    deadline = time.perf_counter() + 30
    while received < messages and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    fanned = time.perf_counter() - t0
    listener.cancel()
    return {
        "trivial_rps": base["rate"],
        "ingest_rps": res["rate"],
        "p50_ms": res["p50_ms"],
        "p99_ms": res["p99_ms"],
        "errors": res["errors"],
        "fanned_out": received,
        "fanned_rate": received / fanned,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--stacks", default="sqlite,pg")
    args = parser.parse_args()
    print(f"Ingest over HTTP, one server process, {args.messages} messages, {args.concurrency} connections")
    for kind in args.stacks.split(","):
        with stack(kind) as st:
            if st is None:
                continue
            public, secret, tok = asyncio.run(_setup(st, ""))
            with server(st) as srv:
                r = asyncio.run(_measure(srv, public, secret, tok, args.messages, args.concurrency))
            print(f"  {kind:6s} trivial GET /health: {r['trivial_rps']:8.0f} req/s")
            print(
                f"  {kind:6s} ingest:              {r['ingest_rps']:8.0f} msg/s  (ratio {r['ingest_rps'] / r['trivial_rps']:.2f}x"
                f" of trivial; p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, errors {r['errors']:.0f})"
            )
            print(
                f"  {kind:6s} fanned out to an agent socket: {r['fanned_out']:.0f}/{args.messages}"
                f" ({r['fanned_rate']:.0f} msg/s end to end)"
            )


if __name__ == "__main__":
    main()
