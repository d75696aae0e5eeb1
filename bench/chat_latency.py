"""Live chat end-to-end latency against a real server process.

With 1,000 idle widgets and 50 agents connected, active visitors send messages (visitor -> the agents'
`/ws/agent` sockets) and agents reply through the REST API (reply -> dispatch -> the chat channel ->
the visitor's `/ws/widget`). Prints p50/p99 of both directions.

    .venv/bin/python bench/chat_latency.py [--stack sqlite|pg] [--idle 1000] [--agents 50] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402

from bench.servers import server, stack  # noqa: E402


def raise_fd_limit(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def setup(n_agents: int) -> tuple[Any, list[str]]:
    from hub import db
    from hub.settings import get_settings  # noqa: F401  (settings come from the stack)
    from tests.factories import make_inbox, make_token, make_user

    inbox = await make_inbox(
        "chat",
        settings={"visitor_per_minute": 100_000, "ip_per_minute": 1_000_000, "sessions_per_ip_per_minute": 100_000},
    )
    tokens = []
    for _ in range(n_agents):
        user = await make_user("agent", inbox_ids=[inbox.id])
        tokens.append(await make_token(user))
    await db.dispose_engine()
    return inbox, tokens


async def connect_many(urls: list[str], batch: int = 100) -> list[Any]:
    conns: list[Any] = []
    for i in range(0, len(urls), batch):
        conns.extend(await asyncio.gather(*(websockets.connect(u, max_queue=None) for u in urls[i : i + batch])))
    return conns


async def run(
    base: str, ws_base: str, inbox: Any, agent_tokens: list[str], idle: int, samples: int, active: int
) -> None:
    from channels.chat import tokens as vt

    visitor_tokens = [vt.issue(inbox.id, secrets.token_urlsafe(16)) for _ in range(idle + active)]
    t0 = time.perf_counter()
    idle_conns = await connect_many([f"{ws_base}/ws/widget?token={t}" for t in visitor_tokens[:idle]])
    print(f"  {len(idle_conns)} idle widgets connected in {time.perf_counter() - t0:.1f}s")
    agents = []
    for tok in agent_tokens:
        agents.append(
            await websockets.connect(
                f"{ws_base}/ws/agent", additional_headers={"Authorization": f"Bearer {tok}"}, max_queue=None
            )
        )
    print(f"  {len(agents)} agent sockets connected")

    inbound: dict[str, asyncio.Future[tuple[float, int]]] = {}
    outbound: dict[str, asyncio.Future[float]] = {}

    async def agent_reader(ws: Any, primary: bool) -> None:
        async for raw in ws:
            if not primary:
                continue
            frame = json.loads(raw)
            if frame.get("event") == "message.created":
                fut = inbound.get(frame["data"].get("text", ""))
                if fut is not None and not fut.done():
                    fut.set_result((time.perf_counter(), int(frame["conversation_id"])))

    async def visitor_reader(ws: Any) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "message" and frame.get("direction") == "out":
                fut = outbound.get(frame.get("text", ""))
                if fut is not None and not fut.done():
                    fut.set_result(time.perf_counter())

    readers = [asyncio.create_task(agent_reader(ws, i == 0)) for i, ws in enumerate(agents)]
    visitors = [await websockets.connect(f"{ws_base}/ws/widget?token={t}") for t in visitor_tokens[idle:]]
    readers += [asyncio.create_task(visitor_reader(ws)) for ws in visitors]
    loop = asyncio.get_running_loop()
    up: list[float] = []
    down: list[float] = []
    headers = {"Authorization": f"Bearer {agent_tokens[0]}"}
    per_visitor = max(1, samples // active)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:

        async def converse(ws: Any, n: int) -> None:
            for i in range(n):
                text = f"hello {secrets.token_hex(6)}"
                fut: asyncio.Future[tuple[float, int]] = loop.create_future()
                inbound[text] = fut
                start = time.perf_counter()
                await ws.send(json.dumps({"type": "message", "text": text, "client_id": secrets.token_hex(8)}))
                arrived, conversation_id = await asyncio.wait_for(fut, 30)
                up.append(arrived - start)
                answer = f"reply {secrets.token_hex(6)}"
                fut2: asyncio.Future[float] = loop.create_future()
                outbound[answer] = fut2
                start = time.perf_counter()
                resp = await http.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": answer})
                resp.raise_for_status()
                down.append(await asyncio.wait_for(fut2, 30) - start)
                await asyncio.sleep(0.05 * (i % 3))

        t0 = time.perf_counter()
        await asyncio.gather(*(converse(ws, per_visitor) for ws in visitors))
        took = time.perf_counter() - t0
    print(f"  {len(up)} round trips by {active} active visitors in {took:.1f}s")
    print(
        f"  visitor -> agent socket : p50 {pct(up, 0.5):6.1f} ms  p99 {pct(up, 0.99):6.1f} ms  "
        f"mean {statistics.mean(up) * 1000:6.1f} ms"
    )
    print(
        f"  agent reply -> visitor  : p50 {pct(down, 0.5):6.1f} ms  p99 {pct(down, 0.99):6.1f} ms  "
        f"mean {statistics.mean(down) * 1000:6.1f} ms  (REST POST + dispatch + delivery)"
    )
    for task in readers:
        task.cancel()
    for ws in [*idle_conns, *agents, *visitors]:
        await ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--active", type=int, default=10, help="visitors conversing at the same time")
    args = parser.parse_args()
    print(f"open files limit: {raise_fd_limit(args.idle * 2 + 500)}")
    with stack(args.stack) as st:
        if st is None:
            return
        from hub import crypto, db

        crypto.configure(st.settings.secret_key)
        db.init_engine(st.settings.effective_database_url)
        inbox, agent_tokens = asyncio.run(setup(args.agents))
        with server(st) as srv:
            print(f"chat latency on {args.stack}: {args.idle} idle widgets, {args.agents} agents")
            ws_base = srv.url.replace("http://", "ws://")
            asyncio.run(
                asyncio.wait_for(run(srv.url, ws_base, inbox, agent_tokens, args.idle, args.samples, args.active), 150)
            )


if __name__ == "__main__":
    main()
