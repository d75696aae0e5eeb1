"""Knowledge-base search latency per backend with 10,000 published articles (seeded with bulk inserts):
p50/p95/p99 of `backend.search()` over the judged queries plus what a reader sends while typing
(every prefix at a word boundary and half-typed words), misspellings included.

    .venv/bin/python bench/kb_search.py [--articles 10000] [--queries 1000] [--backend sqlite ...]
Target: p95 <= 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time

from kb_backends import BACKENDS, Unavailable, backend_env, load_json, pg_server_cpu_ms

from knowledge_base.markdown import markdown_to_text
from knowledge_base.search import SearchBackend, SearchDoc

PRODUCTS = ["Acme", "Nimbus", "Orbit", "Pulse", "Quartz", "Relay", "Summit", "Tidal", "Vertex", "Zephyr"]
EXTRA = [
    "This applies to the web app and the mobile app",
    "Screens may differ slightly on older versions",
    "Administrators can restrict this in the security settings",
    "Changes are logged in the audit log",
    "If the steps above did not help, reply to any message from us and attach a screenshot",
    "Our support team answers within one business day, faster on premium plans.",
]


def corpus(n: int, seed: int = 7) -> list[SearchDoc]:
    rng = random.Random(seed)
    base = load_json("articles.json")
    texts = [markdown_to_text(a["body_md"]) for a in base]
    docs = []
    for i in range(n):
        k = i % len(base)
        a = base[k]
        product = PRODUCTS[(i // len(base)) % len(PRODUCTS)]
        other = texts[rng.randrange(len(texts))]
        body = " ".join([texts[k], other, *rng.sample(EXTRA, 2), f"Product: {product} edition {i // 2000 + 1}."])
        docs.append(
            SearchDoc(
                article_id=i + 1,
                locale="en",
                category_id=1 + k % 12,
                slug=f"{a['slug']}-{i}",
                title=f"{a['title']} ({product})" if i >= len(base) else a["title"],
                description=a["description"],
                body=body,
            )
        )
    return docs


def workload(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    queries = [q["query"] for q in load_json("queries.json")]
    typing: list[str] = []
    for q in queries:
        words = q.split()
        for j in range(1, len(words) + 1):
            typing.append(" ".join(words[:j]))
        last = words[-1]
        if len(last) > 4:
            typing.append(" ".join([*words[:-1], last[: len(last) // 2 + 1]]))
    pool = queries * 3 + typing
    return [rng.choice(pool) for _ in range(count)]


async def seed(backend: SearchBackend, docs: list[SearchDoc], batch: int = 1000) -> float:
    start = time.perf_counter()
    for i in range(0, len(docs), batch):
        await backend.upsert(docs[i : i + batch])
    await settle()
    return time.perf_counter() - start


async def settle() -> None:
    """PostgreSQL: what autovacuum does soon after a bulk load (statistics, visibility map), so the
    bench measures the steady state rather than the minute after an import."""
    from hub.db import get_engine

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE kb_search_docs")
        await conn.exec_driver_sql("VACUUM ANALYZE kb_search_terms")


async def measure(backend: SearchBackend, queries: list[str]) -> tuple[list[float], float, float | None]:
    """Wall-clock milliseconds per search; CPU milliseconds per search of this process (all threads: for
    SQLite the whole search) and of the PostgreSQL backends. CPU time is not inflated by other work on a
    shared machine, wall-clock time is."""
    for q in queries[:50]:  # warm connections
        await backend.search(q, locale="en", limit=10)
    timings = []
    cpu_start = time.process_time()
    server_start = await pg_server_cpu_ms()
    for q in queries:
        start = time.perf_counter()
        await backend.search(q, locale="en", limit=10)
        timings.append((time.perf_counter() - start) * 1000)
    cpu = (time.process_time() - cpu_start) * 1000 / len(queries)
    server_end = await pg_server_cpu_ms()
    server = None if server_start is None or server_end is None else (server_end - server_start) / len(queries)
    return timings, cpu, server


THREAD_CPU_MS: list[float] = []


def _instrument_sqlite() -> None:
    """Per-search CPU time of the SQLite worker thread (the whole SQLite search runs there): a latency
    figure that contention from other processes on a shared machine does not inflate."""
    from knowledge_base.search.sqlite_reader import SqliteReader

    original = SqliteReader.search

    def timed(self: SqliteReader, *args: object, **kwargs: object) -> object:
        start = time.thread_time()
        try:
            return original(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            THREAD_CPU_MS.append((time.thread_time() - start) * 1000)

    SqliteReader.search = timed  # type: ignore[assignment,method-assign]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--backend", action="append", choices=BACKENDS)
    args = parser.parse_args()
    _instrument_sqlite()
    docs = corpus(args.articles)
    queries = workload(args.queries)
    print(f"{len(docs)} articles, {len(queries)} searches (limit 10, locale en), target p95 <= 10 ms")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    for name in args.backend or BACKENDS:
        try:
            async with backend_env(name) as backend:
                seconds = await seed(backend, docs)
                THREAD_CPU_MS.clear()
                timings, cpu, server = await measure(backend, queries)
                thread_cpu = list(THREAD_CPU_MS[50:])
        except Unavailable as exc:
            print(f"{name:12} SKIPPED: {exc}")
            continue
        p95 = pct(timings, 95)
        server_cpu = f" + server {server:.2f} ms" if server is not None else ""
        print(
            f"{name:12} seed {seconds:5.1f}s  p50={pct(timings, 50):.2f} ms  p95={p95:.2f} ms  "
            f"p99={pct(timings, 99):.2f} ms  mean={statistics.fmean(timings):.2f} ms  "
            f"CPU/search: client {cpu:.2f} ms{server_cpu}  {'OK' if p95 <= 10 else 'OVER TARGET'}"
        )
        if thread_cpu:
            print(
                f"{'':12} SQLite search thread CPU time per search: p50={pct(thread_cpu, 50):.2f} ms  "
                f"p95={pct(thread_cpu, 95):.2f} ms  p99={pct(thread_cpu, 99):.2f} ms"
            )


if __name__ == "__main__":
    asyncio.run(main())
