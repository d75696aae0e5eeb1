"""Helpers for kernel tests: signed API-channel posts and a recording HTTP double for callbacks."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from channels.api.signing import signature
from hub.models import Inbox
from tests.factories import make_inbox
from tests.stacks import free_port


async def api_inbox(callback_url: str = "", **fields: Any) -> tuple[Inbox, str]:
    secret = secrets.token_urlsafe(24)
    inbox = await make_inbox(
        "api", settings={"callback_url": callback_url}, credentials={"hmac_secret": secret}, **fields
    )
    return inbox, secret


def signed(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"content-type": "application/json", "x-hub-signature": signature(secret, body)}


def message_payload(sender: str, text: str = "hello", msg_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": msg_id or secrets.token_hex(8),
        "sender": {"id": sender, "name": sender.title()},
        "text": text,
        **extra,
    }


async def post_message(client: httpx.AsyncClient, inbox: Inbox, secret: str, payload: dict[str, Any]) -> httpx.Response:
    body, headers = signed(secret, payload)
    return await client.post(f"/webhooks/api/{inbox.public_token}/messages", content=body, headers=headers)


@dataclass
class CallbackDouble:
    """A provider double: records requests, deduplicates on Idempotency-Key like a careful provider."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    fail_next: int = 0  # answer this many requests with 503 first
    hang_next: int = 0  # never answer this many requests (simulates a provider stuck mid-send)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        entry = {"headers": {k.lower(): v for k, v in request.headers.items()}, "body": json.loads(body)}
        if self.hang_next > 0:
            self.hang_next -= 1
            self.requests.append({**entry, "hung": True})
            await asyncio.sleep(3600)
        if self.fail_next > 0:
            self.fail_next -= 1
            self.requests.append({**entry, "failed": True})
            return web.Response(status=503, text="try later")
        key = request.headers.get("Idempotency-Key", "")
        duplicate = key in self.keys
        self.keys.add(key)
        self.requests.append({**entry, "duplicate": duplicate})
        return web.json_response({"id": f"ext-{key}"})

    @property
    def delivered(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if not r.get("failed") and not r.get("hung") and not r.get("duplicate")]

    async def start(self) -> CallbackDouble:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
