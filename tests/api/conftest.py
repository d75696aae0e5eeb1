"""Helpers for the REST API tests: conversations created through the real ingest pipeline."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hub.inbound import Identity, InboundAttachment, InboundMessage
from hub.ingest import ingest
from hub.models import Inbox, User
from tests.factories import auth_headers, make_inbox, make_user, unique


async def incoming(
    inbox: Inbox,
    sender: str | None = None,
    text: str = "hello",
    *,
    subject: str | None = None,
    thread_key: str | None = None,
    attachments: list[InboundAttachment] | None = None,
    name: str | None = None,
) -> tuple[int, int, int]:
    """A customer message through ingest; returns (conversation id, contact id, message id)."""
    result = await ingest(
        InboundMessage(
            inbox_id=inbox.id,
            provider_id=secrets.token_hex(8),
            sender=Identity("email", sender or f"{unique('c')}@example.org"),
            sender_name=name,
            text=text,
            subject=subject,
            thread_key=thread_key,
            attachments=attachments or [],
        )
    )
    return result.conversation_id, result.contact_id, result.message_id


@dataclass
class World:
    """One inbox with a conversation, its agent (member), an outsider agent, a manager and an admin."""

    inbox: Inbox
    other_inbox: Inbox
    conversation_id: int
    contact_id: int
    message_id: int
    agent: User
    outsider: User
    manager: User
    admin: User
    headers: dict[str, dict[str, str]]

    def h(self, who: str) -> dict[str, str]:
        return self.headers[who]


async def make_world(**inbox_fields: Any) -> World:
    inbox = await make_inbox("api", credentials={"hmac_secret": secrets.token_hex(8)}, **inbox_fields)
    other = await make_inbox("api", credentials={"hmac_secret": secrets.token_hex(8)})
    conv_id, contact_id, message_id = await incoming(inbox, subject="Printer on fire", name="Pat Customer")
    agent = await make_user("agent", inbox_ids=[inbox.id])
    outsider = await make_user("agent", inbox_ids=[other.id])
    manager = await make_user("manager")
    admin = await make_user("admin")
    headers = {
        "agent": await auth_headers(agent),
        "outsider": await auth_headers(outsider),
        "manager": await auth_headers(manager),
        "admin": await auth_headers(admin),
    }
    return World(inbox, other, conv_id, contact_id, message_id, agent, outsider, manager, admin, headers)


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    return await make_world()
