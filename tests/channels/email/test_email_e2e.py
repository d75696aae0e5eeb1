"""Email end to end against a real server process with its SMTP listener on: a customer writes with a real
SMTP client, an agent answers through the REST API, the answer is caught by a real SMTP server, the
customer replies, the answer bounces. Plus every bad-input case on the wire."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import secrets
import smtplib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hub.db import session_scope
from hub.models import Attachment, Message
from tests.channels.email import samples
from tests.channels.email.conftest import email_inbox
from tests.conftest import LiveServer, start_server
from tests.factories import auth_headers, make_user
from tests.stacks import free_port

LIMIT = 300_000


@pytest.fixture(scope="module")
def email_server(stack, tmp_path_factory) -> Iterator[tuple[LiveServer, int]]:
    smtp_port = free_port()
    server = start_server(
        stack,
        tmp_path_factory.mktemp("email-live"),
        extra_env={
            "HUB_SMTP_ENABLED": "true",
            "HUB_SMTP_PORT": str(smtp_port),
            "HUB_EMAIL_MAX_MESSAGE_BYTES": str(LIMIT),
            "HUB_EMAIL_IMAP_REFRESH_SECONDS": "0.2",  # a new inbox is polled at once, not up to 5 s later
        },
    )
    try:
        yield server, smtp_port
    finally:
        server.stop()


def crlf(raw: bytes) -> bytes:
    """On the wire SMTP lines end in CRLF (smtplib sends bytes as given)."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def _smtp_send(port: int, mail_from: str, rcpts: list[str], raw: bytes) -> dict[str, Any]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        return smtp.sendmail(mail_from, rcpts, crlf(raw))


async def send(port: int, mail_from: str, rcpts: list[str], raw: bytes) -> dict[str, Any]:
    return await asyncio.to_thread(_smtp_send, port, mail_from, rcpts, raw)


async def _messages(inbox_id: int) -> list[Message]:
    async with session_scope() as s:
        return list(
            (await s.execute(select(Message).where(Message.inbox_id == inbox_id).order_by(Message.id))).scalars()
        )


async def _wait(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_customer_agent_reply_bounce_loop(client, email_server, smtp_catcher):
    server, port = email_server
    controller, caught = smtp_catcher
    inbox = await email_inbox({"smtp_host": "127.0.0.1", "smtp_port": controller.port})
    addr = inbox.settings["address"]
    customer = f"cust-{secrets.token_hex(3)}@customer.test"
    first_raw = samples.with_attachments(addr).replace(b"bob@customer.test", customer.encode())
    assert await send(port, customer, [addr], first_raw) == {}
    (first,) = await _messages(inbox.id)  # stored before the 250 the client just got
    assert first.text.startswith("Please see the attached")

    agent = await make_user("agent", inbox_ids=[inbox.id])
    headers = await auth_headers(agent)
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as api:
        # The original message is retrievable whole through the API.
        async with session_scope() as s:
            original = (
                await s.execute(
                    select(Attachment).where(Attachment.message_id == first.id, Attachment.filename == "original.eml")
                )
            ).scalar_one()
        download = await api.get(f"/api/v1/attachments/{original.id}")
        assert download.status_code == 200 and download.content == crlf(first_raw)
        # The agent answers through the REST API; the server delivers over SMTP.
        resp = await api.post(
            f"/api/v1/conversations/{first.conversation_id}/messages", json={"text": "Thanks, we are on it."}
        )
        assert resp.status_code in (200, 201), resp.text
        reply_id = int(resp.json()["id"])

    async def sent() -> Message | None:
        async with session_scope() as s:
            m = await s.get(Message, reply_id)
            return m if m is not None and m.status == "sent" else None

    reply = await _wait(sent)
    out = email.message_from_bytes(caught.messages[-1].data, policy=email.policy.default)
    assert out["Message-ID"] == f"<{reply.provider_id}>" and out["To"] == customer
    assert out["In-Reply-To"] == f"<{first.provider_id}>"
    assert "Thanks, we are on it." in out.get_body(("plain",)).get_content()

    # The customer answers their mail client's way: threaded into the same conversation.
    answer = samples.gmail_reply(
        customer, addr, reply.provider_id, [first.provider_id, reply.provider_id], "It works now!", samples.new_id()
    )
    await send(port, customer, [addr], answer)
    msgs = await _messages(inbox.id)
    assert msgs[-1].text == "It works now!" and msgs[-1].conversation_id == first.conversation_id
    # A client that keeps only the Reply-To token threads too.
    await send(port, customer, [str(out["Reply-To"])], samples.simple(sender=customer, to=str(out["Reply-To"])))
    assert (await _messages(inbox.id))[-1].conversation_id == first.conversation_id

    # The answer bounces: the reply is marked failed, visibly, and no conversation is opened for the DSN.
    before = len(await _messages(inbox.id))
    await send(port, "", [addr], samples.dsn(reply.provider_id, to=addr, recipient=customer))
    async with session_scope() as s:
        bounced = await s.get(Message, reply_id)
        assert bounced.status == "failed" and "5.1.1" in bounced.error
    assert len(await _messages(inbox.id)) == before


async def test_duplicate_deliveries_store_one(client, email_server):
    server, port = email_server
    inbox = await email_inbox()
    addr = inbox.settings["address"]
    raw = samples.simple(to=addr)
    results = await asyncio.gather(
        *(send(port, "ann@customer.test", [addr], raw) for _ in range(5)), return_exceptions=True
    )
    assert results == [{}] * 5, (results, server.log.read_text()[-3000:])
    assert len(await _messages(inbox.id)) == 1


async def test_bad_input_over_smtp(client, email_server):
    _, port = email_server
    inbox = await email_inbox()
    addr = inbox.settings["address"]
    with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        await send(port, "a@customer.test", ["nobody-here@acme.test"], samples.simple())
    assert err.value.recipients["nobody-here@acme.test"][0] == 550
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # not an open relay
        await send(port, "a@customer.test", ["someone@gmail.test"], samples.simple())
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as err2:
        await send(port, "a@customer.test", [addr], samples.simple(to=addr, body="w\n" * LIMIT))
    assert err2.value.smtp_code == 552
    with pytest.raises(smtplib.SMTPDataError) as err3:
        await send(port, "a@customer.test", [addr], b"\x00\x01 definitely not mail")
    assert err3.value.smtp_code == 550
    assert await send(port, "a@customer.test", [addr], samples.broken_mime(addr)) == {}
    assert len(await _messages(inbox.id)) == 1


async def test_webhook_on_the_wire(client, email_server):
    server, _ = email_server
    inbox = await email_inbox()
    url = f"{server.url}/webhooks/email/{inbox.public_token}/raw"
    good = {"Authorization": f"Bearer {inbox.credentials['webhook_secret']}"}
    raw = samples.simple(to=inbox.settings["address"])
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.post(url, content=raw)).status_code == 401
        assert (await http.post(url, content=raw, headers={"Authorization": "Bearer nope"})).status_code == 403
        assert (
            await http.post(f"{server.url}/webhooks/email/unknown/raw", content=raw, headers=good)
        ).status_code == 404
        too_big = await http.post(url, content=b"X-Pad: y\r\n" + b"z" * (LIMIT + 10), headers=good)
        assert too_big.status_code == 413
        assert (await http.post(url, content=b"garbage", headers=good)).status_code == 422
        assert (await http.post(url, content=raw, headers=good)).status_code == 200
        again = await http.post(url, content=raw, headers=good)
        assert again.status_code == 200 and again.json()["duplicate"] is True
    async with session_scope() as s:
        n = await s.scalar(select(func.count()).select_from(Message).where(Message.inbox_id == inbox.id))
    assert n == 1


async def test_server_polls_imap_on_its_own(client, email_server):
    from tests.channels.email.dovecot import PASSWORD, USER, Dovecot, available

    if available() is not None:
        pytest.skip(str(available()))
    import imaplib

    dovecot = Dovecot()
    dovecot.start()
    try:
        inbox = await email_inbox(
            {
                "imap_host": "127.0.0.1",
                "imap_port": dovecot.port,
                "imap_ssl": False,
                "imap_username": USER,
                "imap_poll_seconds": 1,
            },
            {"imap_password": PASSWORD},
        )
        conn = imaplib.IMAP4("127.0.0.1", dovecot.port)
        conn.login(USER, PASSWORD)
        conn.append(
            "INBOX", None, None, crlf(samples.simple(to=inbox.settings["address"], body="polled by the server"))
        )
        conn.logout()

        async def stored() -> list[Message]:
            return await _messages(inbox.id)

        (msg,) = await _wait(stored, timeout=60)
        assert msg.text == "polled by the server" and msg.meta["email"]["source"] == "imap"
    finally:
        dovecot.cleanup()
