"""How many idle widget connections one hub process holds, and its memory per connection, against a bare
`websockets` broadcast server measured the same way in the same run (the baseline).

Connections are opened in batches up to `--max` (default 10,000) or until the time budget runs out;
RSS of the server process (/proc/<pid>/status VmRSS) is read after a small warm-up and again at the end.
Both servers run on uvloop when it is installed, with server pings off (the raw clients do not answer them). Client sockets are spread over several loopback source
addresses so ephemeral ports never run out.

    .venv/bin/python bench/ws_capacity.py [--max 10000] [--budget 70]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from bench.servers import server, stack  # noqa: E402
from tests.stacks import free_port  # noqa: E402

WARMUP = 50
BATCH = 250
SOURCES = [f"127.0.0.{i}" for i in range(1, 9)]

BASELINE = """
import asyncio, sys
from websockets.asyncio.server import serve, broadcast
CLIENTS = set()
async def handler(ws):
    CLIENTS.add(ws)
    try:
        async for message in ws:
            broadcast(CLIENTS, message)
    finally:
        CLIENTS.discard(ws)
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), max_queue=16, ping_interval=None):
        await asyncio.Future()
try:
    import uvloop
    uvloop.run(main())
except ImportError:
    asyncio.run(main())
"""


def raise_fd_limit(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def raw_connect(url: str, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A bare RFC 6455 handshake: idle connections need nothing more, and it keeps the client cheap so the
    server, not the load generator, is what gets measured."""
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    reader, writer = await asyncio.open_connection(host, int(port), local_addr=(source, 0))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    if not head.startswith(b"HTTP/1.1 101"):
        writer.close()
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    return reader, writer


async def fill(urls: list[str], pid: int, budget: float) -> tuple[list[Any], int, int, float, int]:
    """Open connections until all are open or the budget is spent; (conns, rss0, rss1, seconds, failures)."""
    conns: list[Any] = []
    failures = 0
    warm = await asyncio.gather(*(raw_connect(u, SOURCES[i % len(SOURCES)]) for i, u in enumerate(urls[:WARMUP])))
    conns.extend(warm)
    await asyncio.sleep(1.0)
    rss0 = rss_kb(pid)
    start = time.perf_counter()
    i = WARMUP
    while i < len(urls) and time.perf_counter() - start < budget:
        batch = urls[i : i + BATCH]
        results = await asyncio.gather(
            *(raw_connect(u, SOURCES[(i + k) % len(SOURCES)]) for k, u in enumerate(batch)), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException):
                failures += 1
            else:
                conns.append(r)
        i += len(batch)
        if failures > BATCH:
            break
    took = time.perf_counter() - start
    await asyncio.sleep(2.0)
    return conns, rss0, rss_kb(pid), took, failures


async def close_all(conns: list[Any]) -> None:
    for _reader, writer in conns:
        writer.close()
    await asyncio.sleep(0.5)


async def bench_hub(ws_base: str, pid: int, inbox_id: int, n: int, budget: float) -> dict[str, Any]:
    from channels.chat import tokens as vt

    urls = [f"{ws_base}/ws/widget?token={vt.issue(inbox_id, secrets.token_urlsafe(16))}" for _ in range(n)]
    conns, rss0, rss1, took, failures = await fill(urls, pid, budget)
    # liveness with everything still open: fresh real clients get through and are answered
    sample = [await websockets.connect(u) for u in urls[:20]]
    for ws in sample:
        await ws.send(json.dumps({"type": "ping"}))
    alive = 0
    for ws in sample:
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame.get("type") == "pong":
                    alive += 1
                    break
        except Exception:
            pass
    await close_all(conns)
    return {
        "open": len(conns),
        "rss0": rss0,
        "rss1": rss1,
        "secs": took,
        "failures": failures,
        "alive": (alive, len(sample)),
    }


async def bench_baseline(port: int, pid: int, n: int, budget: float) -> dict[str, Any]:
    urls = [f"ws://127.0.0.1:{port}/"] * n
    conns, rss0, rss1, took, failures = await fill(urls, pid, budget)
    sample = [await websockets.connect(u) for u in urls[:20]]
    await sample[0].send("hello all")
    alive = 0
    for ws in sample:
        try:
            while await asyncio.wait_for(ws.recv(), 10) != "hello all":
                pass
            alive += 1
        except Exception:
            pass
    await close_all(conns)
    return {
        "open": len(conns),
        "rss0": rss0,
        "rss1": rss1,
        "secs": took,
        "failures": failures,
        "alive": (alive, len(sample)),
    }


def run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def report(name: str, r: dict[str, Any]) -> float:
    extra = r["open"] - WARMUP
    per = (r["rss1"] - r["rss0"]) * 1024 / max(1, extra)
    print(
        f"  {name:<22} open {r['open']:>6} (+{extra} in {r['secs']:.1f}s, {r['failures']} failed)  "
        f"RSS {r['rss0'] / 1024:.0f} -> {r['rss1'] / 1024:.0f} MB  = {per / 1024:.1f} KB/connection  "
        f"alive {r['alive'][0]}/{r['alive'][1]}"
    )
    return per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=45.0, help="seconds of connecting per server")
    args = parser.parse_args()
    limit = raise_fd_limit(args.max + 2000)
    n = min(args.max, limit - 1000)
    print(f"open files limit {limit}; target {n} connections per server; load average {os.getloadavg()[0]:.1f}")
    port = free_port()
    base = subprocess.Popen([sys.executable, "-c", BASELINE, str(port)], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        baseline = run(bench_baseline(port, base.pid, n, args.budget))
    finally:
        base.terminate()
        base.wait(10)
    with stack("sqlite") as st:
        if st is None:
            return
        from hub import crypto, db

        crypto.configure(st.settings.secret_key)
        db.init_engine(st.settings.effective_database_url)

        async def make() -> int:
            from tests.factories import make_inbox

            inbox = await make_inbox("chat", settings={"visitor_per_minute": 100_000, "ip_per_minute": 1_000_000})
            await db.dispose_engine()
            return inbox.id

        inbox_id = asyncio.run(make())
        with server(st, {"UVICORN_WS_PING_INTERVAL": "3600"}) as srv:
            hub = run(bench_hub(srv.url.replace("http://", "ws://"), srv.proc.pid, inbox_id, n, args.budget))
    print("idle websocket connections held by one process:")
    b = report("bare websockets", baseline)
    h = report("hub /ws/widget", hub)
    print(f"  memory per connection, hub / baseline: {h / max(1.0, b):.2f}x")


if __name__ == "__main__":
    main()
