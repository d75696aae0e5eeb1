"""Conversation-list and timeline read latency over HTTP, one server process, 100k conversations and
1M messages seeded (the seed of tests/api/bench_api.py), on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.read_latency [--stacks sqlite,pg] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import time

from bench import loadgen
from bench.servers import server, stack


async def _seed(st) -> tuple[str, int]:
    from sqlalchemy import func, select

    from hub import crypto, db
    from hub.crypto import token_hash
    from hub.models import ApiToken, Conversation, User
    from tests.api import bench_api

    crypto.configure(st.settings.secret_key)
    db.init_engine(st.settings.effective_database_url)
    t = time.perf_counter()
    await bench_api.seed()
    print(
        f"  seeded {bench_api.CONVERSATIONS} conversations, {bench_api.MESSAGES} messages in {time.perf_counter() - t:.0f}s"
    )
    tok = "hub_" + secrets.token_urlsafe(24)
    async with db.session_scope() as s:
        user = User(email=f"reader-{secrets.token_hex(3)}@example.test", name="Reader", role="admin")
        s.add(user)
        await s.flush()
        s.add(ApiToken(user_id=user.id, name="bench", token_hash=token_hash(tok), prefix=tok[:8]))
        top = (await s.execute(select(func.max(Conversation.id)))).scalar_one()
    await db.dispose_engine()
    return tok, int(top)


async def _time(port: int, reqs: list[bytes]) -> tuple[float, float]:
    await loadgen.run("127.0.0.1", port, reqs[:20], 20, 1)
    lat = []
    for r in reqs:
        res = await loadgen.run("127.0.0.1", port, [r], 1, 1)
        if res["errors"]:
            raise RuntimeError("request failed")
        lat.append(res["p50_ms"])
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stacks", default="sqlite,pg")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print("Read latency over HTTP (p50 / p95 ms), 100k conversations, 1M messages")
    for kind in args.stacks.split(","):
        with stack(kind) as st:
            if st is None:
                continue
            tok, top = asyncio.run(_seed(st))
            with server(st) as srv:
                host = f"127.0.0.1:{srv.port}"
                auth = {"Authorization": f"Bearer {tok}"}
                rnd = random.Random(1)

                def get(path: str, host: str = host, auth: dict[str, str] = auth) -> bytes:
                    return loadgen.build_request("GET", path, host, headers=auth)

                cases = {
                    "list, newest 50": [get("/api/v1/conversations?limit=50")] * args.requests,
                    "list, status=open": [get("/api/v1/conversations?status=open&limit=50")] * args.requests,
                    "list, inbox filter": [
                        get(f"/api/v1/conversations?inbox_id={rnd.randint(1, 20)}&limit=50")
                        for _ in range(args.requests)
                    ],
                    "list, unassigned open": [get("/api/v1/conversations?assignee=none&status=open&limit=50")]
                    * args.requests,
                    "timeline, 50 items": [
                        get(f"/api/v1/conversations/{rnd.randint(1, top)}/messages?limit=50")
                        for _ in range(args.requests)
                    ],
                }
                for name, reqs in cases.items():
                    p50, p95 = asyncio.run(_time(srv.port, reqs))
                    print(f"  {kind:6s} {name:24s} p50 {p50:6.1f}  p95 {p95:6.1f}")


if __name__ == "__main__":
    main()
