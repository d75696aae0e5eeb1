"""Helpers for the inbox tests: API-channel inboxes with a signing secret, signed webhook posts, and
Chromium (the Debian package, never a downloaded browser) through Playwright."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from channels.api.signing import signature
from hub.inbound import Identity, InboundMessage
from hub.ingest import ingest
from tests.factories import make_inbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SECRET = "inbox-test-secret"


async def api_inbox(**fields: Any):
    return await make_inbox("api", credentials={"hmac_secret": SECRET}, **fields)


def webhook_post(base_url: str, inbox_token: str, payload: dict[str, Any]) -> httpx.Response:
    """Deliver a customer message through the generic API channel, signed like an integrator would."""
    body = json.dumps(payload).encode()
    return httpx.post(
        f"{base_url}/webhooks/api/{inbox_token}/messages",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature": signature(SECRET, body)},
        timeout=10,
    )


async def customer_says(inbox_id: int, sender: str, text: str, **extra: Any) -> int:
    """Ingest directly (in-process); returns the conversation id."""
    result = await ingest(
        InboundMessage(
            inbox_id=inbox_id,
            provider_id=secrets.token_hex(8),
            sender=Identity("external", f"{inbox_id}:{sender}"),
            sender_name=extra.pop("name", sender.title()),
            text=text,
            **extra,
        )
    )
    return result.conversation_id


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
