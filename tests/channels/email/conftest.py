"""Fixtures for the email channel: email inboxes with unique addresses, and a real SMTP server (aiosmtpd)
that catches what the hub sends."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.factories import make_inbox
from tests.stacks import free_port

DOMAIN = "acme.test"


def new_address() -> str:
    return f"support-{secrets.token_hex(4)}@{DOMAIN}"


async def email_inbox(settings: dict[str, Any] | None = None, credentials: dict[str, Any] | None = None, **kw: Any):
    address = new_address()
    return await make_inbox(
        "email",
        settings={"address": address, **(settings or {})},
        credentials={"webhook_secret": "whsec-" + secrets.token_hex(8), **(credentials or {})},
        **kw,
    )


@dataclass
class Caught:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class CatchHandler:
    """Stores every message; `reply` makes it answer something else (e.g. a 4xx or 5xx) instead."""

    messages: list[Caught] = field(default_factory=list)
    reply: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        self.messages.append(Caught(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 caught"


@pytest.fixture
def smtp_catcher() -> Iterator[tuple[Controller, CatchHandler]]:
    handler = CatchHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()
