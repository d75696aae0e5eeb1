"""Shared set-up for the knowledge-base benches: a fresh database per backend, migrated, with the hub's
engine pointed at it; Meilisearch only when a real server answers (MEILISEARCH_URL), never simulated."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hub import crypto, db  # noqa: E402
from hub.migrate import upgrade_async  # noqa: E402
from knowledge_base.search import DatabaseSearch, SearchBackend  # noqa: E402

PG_ADMIN_URL = os.environ.get("HUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgres", "meilisearch")


class Unavailable(Exception):
    pass


CURRENT_PG_DATABASE: str | None = None


async def pg_server_cpu_ms() -> float | None:
    """CPU time (user + system) used so far by the PostgreSQL backends serving the bench database, read
    from /proc (the server runs on this machine); None when that is not possible."""
    if CURRENT_PG_DATABASE is None:
        return None
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        pids = [
            r[0]
            for r in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                CURRENT_PG_DATABASE,
            )
        ]
    finally:
        await conn.close()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) * 1000 / ticks
    return total


@asynccontextmanager
async def backend_env(name: str) -> AsyncIterator[SearchBackend]:
    crypto.configure(secrets.token_urlsafe(40))
    if name == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            await upgrade_async(url)
            db.init_engine(url)
            try:
                yield DatabaseSearch()
            finally:
                await db.dispose_engine()
        return
    if name == "postgres":
        global CURRENT_PG_DATABASE
        import asyncpg

        try:
            admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        except Exception as exc:
            raise Unavailable(f"PostgreSQL at {PG_ADMIN_URL} does not answer: {exc}") from exc
        database = f"hub_bench_{secrets.token_hex(4)}"
        await admin.execute(f'CREATE DATABASE "{database}"')
        try:
            url = "postgresql+asyncpg://" + PG_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0] + f"/{database}"
            await upgrade_async(url)
            db.init_engine(url)
            CURRENT_PG_DATABASE = database
            try:
                yield DatabaseSearch()
            finally:
                CURRENT_PG_DATABASE = None
                from knowledge_base.search.database import close_readers

                await close_readers()
                await db.dispose_engine()
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()
        return
    if name == "meilisearch":
        url = os.environ.get("MEILISEARCH_URL", "")
        if not url:
            raise Unavailable(
                "MEILISEARCH_URL is not set and no Meilisearch binary is packaged on PyPI or Debian for this "
                "machine; start a server and set MEILISEARCH_URL to include it"
            )
        import httpx

        try:
            httpx.get(f"{url.rstrip('/')}/health", timeout=2).raise_for_status()
        except httpx.HTTPError as exc:
            raise Unavailable(f"Meilisearch at {url} does not answer: {exc}") from exc
        from knowledge_base.search.meili import MeiliSearch

        key = os.environ.get("MEILISEARCH_API_KEY", "")
        meili = MeiliSearch(url, key, index_uid=f"kb_bench_{secrets.token_hex(4)}")
        await meili.ensure_index()
        try:
            yield meili
        finally:
            await meili.client.delete_index_if_exists(meili.index_uid)
            await meili.aclose()
        return
    raise ValueError(name)


def load_json(name: str) -> Any:
    import json

    return json.loads((ROOT / "tests" / "knowledge_base" / "relevance" / name).read_text())
