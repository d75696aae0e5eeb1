"""Agent replies: stored as queued before any network call, delivered with retries, never sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select

from hub import dispatch
from hub.db import session_scope
from hub.models import Conversation, Message
from tests.conftest import ROOT, start_server
from tests.factories import unique
from tests.kernel.helpers import CallbackDouble, api_inbox, message_payload, post_message, wait_for


async def _reply(conversation_id: int, text: str = "thanks!", enqueue: bool = True) -> int:
    async with session_scope() as s:
        conv = await s.get(Conversation, conversation_id)
        message = await dispatch.queue_outbound(s, conv, text=text, author_kind="agent")
    if enqueue:
        await dispatch.after_commit(message, conv)
    return message.id


async def _status(message_id: int) -> Message:
    async with session_scope() as s:
        return (await s.execute(select(Message).where(Message.id == message_id))).scalar_one()


@pytest.fixture
async def double():
    d = await CallbackDouble().start()
    yield d
    await d.stop()


async def _conversation(client, double) -> int:
    inbox, secret = await api_inbox(double.url)
    resp = await post_message(client, inbox, secret, message_payload(unique("cust")))
    assert resp.status_code == 200, resp.text
    return int(resp.json()["conversation_id"])


async def test_reply_is_delivered_signed_with_idempotency_key(client, double):
    conv_id = await _conversation(client, double)
    mid = await _reply(conv_id, "hello there")
    await wait_for(lambda: double.delivered)
    req = double.delivered[0]
    assert req["body"]["text"] == "hello there"
    assert req["headers"]["idempotency-key"] == f"hub-message-{mid}"
    assert req["headers"]["x-hub-signature"].startswith("sha256=")
    msg = await wait_for(lambda: _sent(mid))
    assert msg.provider_id == f"ext-hub-message-{mid}"


async def _sent(mid: int) -> Message | None:
    m = await _status(mid)
    return m if m.status == "sent" else None


async def test_temporary_failures_are_retried(client, double):
    conv_id = await _conversation(client, double)
    double.fail_next = 1
    mid = await _reply(conv_id)
    await wait_for(lambda: _sent(mid), timeout=20)
    assert len(double.delivered) == 1
    assert sum(1 for r in double.requests if r.get("failed")) == 1


async def test_concurrent_runs_of_one_delivery_send_once(client, double):
    conv_id = await _conversation(client, double)
    mid = await _reply(conv_id, enqueue=False)
    await asyncio.gather(*(dispatch.deliver(mid) for _ in range(10)))
    assert len(double.requests) == 1
    assert (await _status(mid)).status == "sent"


async def test_permanent_failure_is_visible(client):
    inbox, secret = await api_inbox("http://127.0.0.1:9/nowhere")
    resp = await post_message(client, inbox, secret, message_payload(unique("c")))
    conv_id = resp.json()["conversation_id"]
    async with session_scope() as s:
        conv = await s.get(Conversation, conv_id)
        message = await dispatch.queue_outbound(s, conv, text="x")
    # Exhaust the attempts directly: unreachable hosts are retried, then marked failed with the reason.
    for _ in range(dispatch.MAX_ATTEMPTS):
        try:
            await dispatch.deliver(message.id)
        except Exception:
            pass
        async with session_scope() as s:
            m = await s.get(Message, message.id)
            if m.status == "failed":
                break
            m.next_attempt_at = None
    m = await _status(message.id)
    assert m.status == "failed"
    assert "could not reach" in (m.error or "")


async def test_queued_reply_survives_a_crash_before_sending(client, stack, tmp_path, double):
    """The reply is committed, the process dies before enqueueing it: a fresh process start delivers it."""
    inbox, secret = await api_inbox(double.url)
    resp = await post_message(client, inbox, secret, message_payload(unique("crash")))
    mid = await _reply(resp.json()["conversation_id"], enqueue=False)  # committed, never enqueued
    server = await asyncio.to_thread(start_server, stack, tmp_path)  # keep serving the double meanwhile
    try:
        await wait_for(lambda: double.delivered, timeout=90)
    finally:
        server.stop()
    assert len(double.delivered) == 1
    assert double.delivered[0]["headers"]["idempotency-key"] == f"hub-message-{mid}"
    await wait_for(lambda: _sent(mid))


async def test_worker_killed_mid_send_loses_nothing_and_never_sends_twice(client, stack, tmp_path, double):
    """`hub worker` is killed while the provider holds the request; after the lease another runner retries with
    the same idempotency key, so the provider records the message once."""
    if not stack.is_pg:
        pytest.skip("`hub worker` consumes the Redis queue; the embedded stack is covered by the crash test above")
    inbox, secret = await api_inbox(double.url)
    resp = await post_message(client, inbox, secret, message_payload(unique("kill")))
    double.hang_next = 1
    mid = await _reply(resp.json()["conversation_id"], enqueue=False)
    env = {**os.environ, **stack.env, "HUB_DELIVERY_LEASE_SECONDS": "2"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=open(tmp_path / "w1.log", "wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        await wait_for(lambda: double.requests, timeout=60)  # the worker is now inside the send
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert (await _status(mid)).status == "sending"
    await asyncio.sleep(2.5)  # the dead worker's lease runs out
    worker2 = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=open(tmp_path / "w2.log", "wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        await wait_for(lambda: _sent(mid), timeout=90, interval=0.2)
    finally:
        worker2.terminate()
        worker2.wait(10)
    assert len(double.delivered) == 1
    assert {r["headers"]["idempotency-key"] for r in double.requests} == {f"hub-message-{mid}"}
