"""Test support shared by the SMS and Slack channel tests: a recording provider double, a worker for the
Redis stack, and small waiting helpers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from aiohttp import web
from sqlalchemy import func, select

from hub.db import session_scope
from hub.models import Message
from tests.conftest import ROOT
from tests.stacks import Stack, free_port

Answer = tuple[int, Any, dict[str, str]]


class ProviderDouble:
    """A provider API on a local port: records every request and answers like the provider would.

    `script` holds answers (status, JSON, headers) given to the next requests before the normal ones,
    e.g. one 429 with Retry-After.
    """

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[dict[str, Any]] = []
        self.script: list[Answer] = []
        self.files: dict[str, bytes] = {}  # GET <path> answers these bytes (media, shared files)
        self.script_for: dict[str, list[Answer]] = {}  # like `script`, for paths ending with the key only
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> ProviderDouble:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        record: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": raw,
        }
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            record["form"] = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        elif ctype.startswith("application/json") and raw:
            record["json"] = json.loads(raw)
        self.requests.append(record)
        scripted = next((a for k, a in self.script_for.items() if request.path.endswith(k) and a), None)
        if scripted:
            status, payload, headers = scripted.pop(0)
            record["scripted"] = status
        elif self.script:
            status, payload, headers = self.script.pop(0)
            record["scripted"] = status
        else:
            status, payload, headers = self.answer(record)
        if isinstance(payload, bytes):
            return web.Response(body=payload, status=status, headers=headers)
        return web.json_response(payload, status=status, headers=headers)

    def answer(self, record: dict[str, Any]) -> Answer:
        if record["method"] == "GET" and record["path"] in self.files:
            return 200, self.files[record["path"]], {"content-type": "application/octet-stream"}
        return 404, {"error": "not found"}, {}

    def matching(self, path_end: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith(path_end) and "scripted" not in r]


async def wait_for(predicate: Callable[[], Any], timeout: float = 90.0, interval: float = 0.05) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def message(message_id: int) -> Message:
    async with session_scope() as s:
        return (await s.execute(select(Message).where(Message.id == message_id))).scalar_one()


async def message_with_status(message_id: int, *statuses: str) -> Message | None:
    m = await message(message_id)
    return m if m.status in statuses else None


async def count_provider_id(inbox_id: int, provider_id: str) -> int:
    async with session_scope() as s:
        return int(
            (
                await s.execute(
                    select(func.count(Message.id)).where(
                        Message.inbox_id == inbox_id, Message.provider_id == provider_id
                    )
                )
            ).scalar_one()
        )


async def stored(inbox_id: int, provider_id: str) -> Message | None:
    async with session_scope() as s:
        return (
            await s.execute(select(Message).where(Message.inbox_id == inbox_id, Message.provider_id == provider_id))
        ).scalar_one_or_none()


def start_worker(stack: Stack, log_dir: Path) -> subprocess.Popen[bytes] | None:
    """On the Redis stack replies go through SAQ: run a real `hub worker`, unless the stack's web processes
    consume the queue themselves (HUB_JOBS_IN_WEB). The embedded stack delivers them on the in-process runner."""
    if not stack.is_pg or getattr(stack.settings, "jobs_in_web", False):
        return None
    log = (log_dir / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", "worker"],
        cwd=ROOT,
        env={**os.environ, **stack.env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop_worker(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)  # nothing of the test's is left in flight; a slow graceful stop is not worth waiting for
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


async def post(url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(url, **kwargs)
