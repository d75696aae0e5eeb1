"""Helpers for ticketing tests: messages in through the real ingest, replies through the real dispatch,
and (on the PostgreSQL + Redis stack) a SAQ worker on the test loop so scheduled jobs really run.

Ticketing's subscribers run in the background (after `emit` returns); the helpers and the in-process client
wait for them (`hub.events.drain()`), so a test checks their effects deterministically."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub import dispatch, events
from hub.db import session_scope
from hub.inbound import Identity, InboundMessage, IngestResult
from hub.ingest import ingest
from hub.models import Conversation, Inbox, Message


@pytest.fixture(scope="session")
async def jobs(client: Any, stack: Any) -> AsyncIterator[None]:
    """Scheduled jobs run: in-process they already do; on Redis a worker consumes the stack's queue."""
    if not stack.is_pg:
        yield
        return
    from hub.jobs import get_queue
    from hub.jobs.saq_queue import build_worker

    worker = build_worker(get_queue(), concurrency=10)  # type: ignore[arg-type]
    worker.timers["schedule"] = 0.2
    task = asyncio.create_task(worker.start())
    try:
        yield
    finally:
        await worker.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@pytest.fixture(autouse=True)
async def drained_client(client: httpx.AsyncClient) -> AsyncIterator[None]:
    """Each in-process request returns once ticketing's background subscribers have handled its events."""

    async def drain(_: httpx.Response) -> None:
        await events.drain()

    client.event_hooks["response"].append(drain)
    try:
        yield
    finally:
        client.event_hooks["response"].remove(drain)
        await events.drain()


async def inbound(inbox: Inbox, sender: str = "cust", text: str = "Hello", **fields: Any) -> IngestResult:
    """A customer message through ingest, once ticketing has reacted to it."""
    kind = "phone" if inbox.channel == "sms" else "external"
    address = sender if kind == "phone" else f"{inbox.id}:{sender}"
    result = await ingest(
        InboundMessage(
            inbox_id=inbox.id,
            provider_id=fields.pop("provider_id", secrets.token_hex(8)),
            sender=Identity(kind, address),
            sender_name=fields.pop("sender_name", sender.title()),
            text=text,
            **fields,
        )
    )
    await events.drain()
    return result


async def reply(conversation_id: int, agent_id: int, text: str = "On it") -> Message:
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
        assert conv is not None
        msg = await dispatch.queue_outbound(session, conv, text=text, author_kind="agent", author_id=agent_id)
    await dispatch.after_commit(msg, conv)
    await events.drain()
    return msg


async def conversation(conversation_id: int) -> Conversation:
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
        assert conv is not None
        return conv


async def eventually(check: Any, timeout: float = 10.0) -> Any:
    """Poll an async predicate until it returns something truthy (jobs and workers run concurrently)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
