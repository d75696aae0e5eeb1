"""Fixtures: a stack per backend (session-wide, migrated with `upgrade head`), an in-process app client,
and a real server process on a free port for end-to-end tests.

Every test that takes `stack`, `client` or `live_server` runs on the embedded defaults and again on
PostgreSQL + Redis; the second is skipped, with the reason, when they do not answer.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.stacks import (
    Stack,
    create_database,
    drop_database,
    embedded_stack,
    free_port,
    pg_stack,
    pg_unavailable_reason,
)

ROOT = Path(__file__).resolve().parent.parent


def pytest_report_header(config: pytest.Config) -> str:
    reason = pg_unavailable_reason()
    return "PostgreSQL + Redis: " + ("available" if reason is None else f"SKIPPED ({reason})")


@pytest.fixture(scope="session", params=["embedded", "pg"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from hub import crypto
    from hub.migrate import upgrade

    data_dir = tmp_path_factory.mktemp(f"hub-{request.param}")
    if request.param == "embedded":
        st = embedded_stack(data_dir)
        crypto.configure(st.settings.secret_key)
        upgrade(st.settings.effective_database_url)
        yield st
        return
    reason = pg_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    database = asyncio.run(create_database())
    st = pg_stack(data_dir, database)
    try:
        crypto.configure(st.settings.secret_key)
        upgrade(st.settings.effective_database_url)
        yield st
    finally:
        asyncio.run(drop_database(database))


@pytest.fixture(scope="session")
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process on the test's event loop; services (db, broker, queue) are live for the test."""
    from hub.app import create_app, start_services, stop_services

    app = create_app(stack.settings, manage_services=False)
    await start_services(stack.settings, web=True)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as tc:
            yield tc
    finally:
        await stop_services()


@pytest.fixture(autouse=True)
def _fresh_client_cookies(request: pytest.FixtureRequest) -> None:
    """The in-process client is shared by a stack's tests: no test inherits another's signed-in session."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").cookies.clear()


class LiveServer:
    def __init__(self, stack: Stack, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.stack = stack
        self.port = port
        self.proc = proc
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_server(stack: Stack, log_dir: Path, extra_env: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    env = {**os.environ, **stack.env, "HUB_PORT": str(port), **(extra_env or {})}
    log = log_dir / f"server-{port}.log"
    with log.open("wb") as fh:
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
                "--ws",
                "websockets-sansio",
                "--ws-per-message-deflate",
                "false",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(stack, port, proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not answer within 60s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real `uvicorn hub.asgi:app` process on a free port, sharing the stack's database."""
    server = start_server(stack, tmp_path_factory.mktemp("live"))
    try:
        yield server
    finally:
        server.stop()
