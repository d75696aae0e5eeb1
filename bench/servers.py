"""Start a real hub server process on a fresh database for a benchmark, and tear it down."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stacks import (  # noqa: E402
    Stack,
    create_database,
    drop_database,
    embedded_stack,
    free_port,
    pg_stack,
    pg_unavailable_reason,
)


@dataclass
class Server:
    stack: Stack
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def stack(kind: str) -> Iterator[Stack | None]:
    """A migrated stack ('sqlite' or 'pg'); None (with a printed reason) when PostgreSQL/Redis are absent."""
    from hub import crypto
    from hub.migrate import upgrade

    data_dir = Path(tempfile.mkdtemp(prefix=f"hub-bench-{kind}-"))
    if kind == "sqlite":
        st = embedded_stack(data_dir)
        crypto.configure(st.settings.secret_key)
        upgrade(st.settings.effective_database_url)
        yield st
        return
    reason = pg_unavailable_reason()
    if reason:
        print(f"  skipped PostgreSQL: {reason}")
        yield None
        return
    db = asyncio.run(create_database())
    try:
        st = pg_stack(data_dir, db)
        crypto.configure(st.settings.secret_key)
        upgrade(st.settings.effective_database_url)
        yield st
    finally:
        asyncio.run(drop_database(db))


@contextmanager
def server(st: Stack, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, **st.env, "HUB_PORT": str(port), "HUB_LOG_LEVEL": "warning", **(extra_env or {})}
    log = open(Path(tempfile.gettempdir()) / f"hub-bench-{port}.log", "wb")  # noqa: SIM115
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "hub.asgi:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws",
        "websockets-sansio",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    try:
        import uvloop  # noqa: F401

        cmd += ["--loop", "uvloop", "--http", "httptools"]
    except ImportError:
        pass
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start; see {log.name}")
            time.sleep(0.1)
        yield Server(st, port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def token() -> str:
    return secrets.token_hex(8)
