"""Helpers for the chat tests: chat inboxes, visitor sessions, widget and agent sockets on a live server,
and Chromium (the Debian package, never a downloaded browser) through Playwright."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import shutil
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from hub.models import Inbox
from tests.factories import make_inbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--no-first-run", "--disable-sync"]


async def chat_inbox(secret: str = "", **settings: Any) -> Inbox:
    return await make_inbox("chat", settings=settings, credentials={"identity_secret": secret} if secret else {})


def mac(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


async def start_session(
    base: str | httpx.AsyncClient, inbox: Inbox, origin: str | None = None, **body: Any
) -> dict[str, Any]:
    payload = json.dumps({"inbox": inbox.public_token, **body})
    headers = {"content-type": "text/plain", **({"origin": origin} if origin else {})}
    if isinstance(base, httpx.AsyncClient):
        resp = await base.post("/api/v1/widget/session", content=payload, headers=headers)
    else:
        async with httpx.AsyncClient(base_url=base) as http:
            resp = await http.post("/api/v1/widget/session", content=payload, headers=headers)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def client_id() -> str:
    return secrets.token_hex(8)


class Widget:
    """A visitor's socket, recording every frame so tests can look back for duplicates."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - loop.time())))
            self.frames.append(frame)
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def drain(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(self.ws.recv(), seconds))
                self.frames.append(frame)
                got.append(frame)
        except (TimeoutError, websockets.exceptions.ConnectionClosed):
            return got


async def recv_event(ws: Any, name: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time())))
        data = frame.get("data") or {}
        if frame.get("event") == name and all(data.get(k) == v for k, v in match.items()):
            return frame


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()
