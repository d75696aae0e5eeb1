"""The two storage/realtime stacks every storage test runs on: embedded defaults, and PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from hub.settings import Settings

PG_ADMIN_URL = os.environ.get("HUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HUB_TEST_REDIS", "redis://127.0.0.1:6379/0")


@dataclass
class Stack:
    name: str
    settings: Settings
    env: dict[str, str] = field(default_factory=dict)
    pg_database: str | None = None

    @property
    def is_pg(self) -> bool:
        return self.pg_database is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings_env(settings: Settings) -> dict[str, str]:
    env = {}
    for name in settings.__struct_fields__:
        value = getattr(settings, name)
        env[f"HUB_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def build_settings(data_dir: Path, **overrides: object) -> Settings:
    base = Settings(
        data_dir=str(data_dir),
        secret_key=secrets.token_urlsafe(40),
        smtp_enabled=False,
        seed_demo=False,
        port=free_port(),
    )
    return msgspec.structs.replace(base, **overrides)


def embedded_stack(data_dir: Path) -> Stack:
    settings = build_settings(data_dir)
    return Stack("embedded", settings, _settings_env(settings))


async def _pg_reason() -> str | None:
    import asyncpg
    import redis.asyncio as aioredis

    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), 5)
        await conn.close()
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} does not answer: {exc}"
    try:
        client = aioredis.Redis.from_url(REDIS_URL)
        await asyncio.wait_for(client.ping(), 5)
        await client.aclose()
    except Exception as exc:
        return f"Redis at {REDIS_URL} does not answer: {exc}"
    return None


def pg_unavailable_reason() -> str | None:
    return asyncio.run(_pg_reason())


async def create_database() -> str:
    import asyncpg

    name = f"hub_test_{os.getpid()}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


def pg_stack(data_dir: Path, database: str) -> Stack:
    settings = build_settings(
        data_dir,
        database_url=pg_url(database),
        redis_url=REDIS_URL,
        redis_namespace=f"hubtest-{secrets.token_hex(4)}",
        jobs_in_web=True,
    )
    return Stack("pg", settings, _settings_env(settings), pg_database=database)
