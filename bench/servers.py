"""Start a real hub server process on a fresh database for a benchmark, and tear it down."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import start_server  # noqa: E402
from tests.stacks import (  # noqa: E402
    Stack,
    create_database,
    drop_database,
    embedded_stack,
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
    """The same server process the end-to-end tests start (uvicorn picks uvloop and httptools itself)."""
    live = start_server(
        st, Path(tempfile.mkdtemp(prefix="hub-bench-log-")), {"HUB_LOG_LEVEL": "warning", **(extra_env or {})}
    )
    try:
        yield Server(st, live.port, live.proc)
    finally:
        live.stop()


def token() -> str:
    return secrets.token_hex(8)
