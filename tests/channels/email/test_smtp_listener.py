"""The SMTP listener (aiosmtpd on the test's loop) spoken to by a real SMTP client (aiosmtplib)."""

from __future__ import annotations

import aiosmtplib
import pytest
from sqlalchemy import func, select

from channels.email.smtp_server import SmtpListener
from hub.db import session_scope
from hub.models import Message
from tests.channels.email import samples
from tests.channels.email.conftest import email_inbox
from tests.stacks import free_port

LIMIT = 200_000


@pytest.fixture
async def listener(client, monkeypatch):
    monkeypatch.setenv("HUB_EMAIL_MAX_MESSAGE_BYTES", str(LIMIT))
    lst = SmtpListener("127.0.0.1", free_port(), hostname="mx.hub.test")
    await lst.start()
    try:
        yield lst
    finally:
        await lst.stop()


async def _count(inbox_id: int) -> int:
    async with session_scope() as s:
        return int(await s.scalar(select(func.count()).select_from(Message).where(Message.inbox_id == inbox_id)) or 0)


async def _send(lst: SmtpListener, mail_from: str, rcpts: list[str], raw: bytes) -> tuple[dict, str]:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=lst.port, start_tls=False) as smtp:
        return await smtp.sendmail(mail_from, rcpts, raw)


async def test_mail_is_stored_before_250(listener):
    inbox = await email_inbox()
    addr = inbox.settings["address"]
    errors, response = await _send(listener, "ann@customer.test", [addr], samples.simple(to=addr))
    assert errors == {} and response.startswith("2.0.0 OK stored")
    assert await _count(inbox.id) == 1  # committed by the time the client saw 250


async def test_unknown_recipient_is_refused(listener):
    inbox = await email_inbox()
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as err:
        await _send(listener, "a@customer.test", ["nobody@acme.test"], samples.simple(to="nobody@acme.test"))
    refused = err.value.recipients[0]
    assert refused.code == 550 and "5.1.1 no such mailbox" in refused.message
    # Mixed: the known recipient gets it, the unknown one is refused, the message is stored once.
    addr = inbox.settings["address"]
    errors, _ = await _send(listener, "a@customer.test", [addr, "ghost@acme.test"], samples.simple(to=addr))
    assert list(errors) == ["ghost@acme.test"] and errors["ghost@acme.test"][0] == 550
    assert await _count(inbox.id) == 1


async def test_plus_address_and_alias_accepted(listener):
    alias = f"help-{free_port()}@acme.test"
    inbox = await email_inbox({"aliases": [alias]})
    local, domain = inbox.settings["address"].split("@")
    await _send(listener, "a@customer.test", [f"{local}+anything@{domain}"], samples.simple(to="x"))
    await _send(listener, "a@customer.test", [alias.upper()], samples.simple(to="x"))
    assert await _count(inbox.id) == 2


async def test_duplicate_delivery_stores_one(listener):
    inbox = await email_inbox()
    addr = inbox.settings["address"]
    raw = samples.simple(to=addr)
    for _ in range(3):
        await _send(listener, "ann@customer.test", [addr], raw)
    assert await _count(inbox.id) == 1


async def test_one_message_to_two_inboxes(listener):
    a, b = await email_inbox(), await email_inbox()
    raw = samples.simple(to=a.settings["address"])
    await _send(listener, "ann@customer.test", [a.settings["address"], b.settings["address"]], raw)
    assert await _count(a.id) == 1 and await _count(b.id) == 1


async def test_size_limits(listener):
    inbox = await email_inbox({"max_message_bytes": 4096})
    addr = inbox.settings["address"]
    with pytest.raises(aiosmtplib.SMTPDataError) as err:  # over the inbox's own limit
        await _send(listener, "a@customer.test", [addr], samples.simple(to=addr, body="y" * 6000))
    assert err.value.code == 552
    big = await email_inbox()
    with pytest.raises(aiosmtplib.SMTPResponseException) as err2:  # over the listener's limit
        await _send(listener, "a@customer.test", [big.settings["address"]], samples.simple(body="z\n" * LIMIT))
    assert err2.value.code == 552
    assert await _count(inbox.id) == 0 and await _count(big.id) == 0


async def test_broken_mime_is_stored_and_junk_is_rejected(listener):
    inbox = await email_inbox()
    addr = inbox.settings["address"]
    errors, _ = await _send(listener, "broken@customer.test", [addr], samples.broken_mime(addr))
    assert errors == {} and await _count(inbox.id) == 1
    with pytest.raises(aiosmtplib.SMTPDataError) as err:
        await _send(listener, "a@customer.test", [addr], b"no headers here, just words\r\n")
    assert err.value.code == 550 and "not an email" in err.value.message
    with pytest.raises(aiosmtplib.SMTPDataError) as err:  # no From and a null envelope sender
        await _send(listener, "", [addr], b"Subject: who am I\r\n\r\nbody\r\n")
    assert err.value.code == 550 and "sender" in err.value.message
    assert await _count(inbox.id) == 1


async def test_inactive_inbox_receives_nothing(listener):
    inbox = await email_inbox(active=False)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await _send(listener, "a@customer.test", [inbox.settings["address"]], samples.simple())


async def test_starttls_is_offered_with_a_certificate(client, tmp_path):
    from tests.channels.email.tls import server_context

    lst = SmtpListener("127.0.0.1", free_port(), hostname="mx.hub.test", tls_context=server_context(tmp_path))
    await lst.start()
    try:
        inbox = await email_inbox()
        addr = inbox.settings["address"]
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=lst.port, start_tls=True, validate_certs=False) as smtp:
            await smtp.sendmail("ann@customer.test", [addr], samples.simple(to=addr))
            assert smtp.get_transport_info("sslcontext") is not None
        assert await _count(inbox.id) == 1
    finally:
        await lst.stop()


async def test_storage_trouble_is_a_temporary_failure(listener, monkeypatch):
    """If the database is away the sender is asked to retry (4xx), never told the mail bounced (5xx)."""
    from channels.email import smtp_server

    inbox = await email_inbox()
    addr = inbox.settings["address"]

    async def broken(*args, **kwargs):
        raise ConnectionError("database is restarting")

    monkeypatch.setattr(smtp_server, "receive", broken)
    with pytest.raises(aiosmtplib.SMTPDataError) as err:
        await _send(listener, "a@customer.test", [addr], samples.simple(to=addr))
    assert err.value.code == 451
    monkeypatch.undo()
    await _send(listener, "a@customer.test", [addr], samples.simple(to=addr))  # the retry is stored
    assert await _count(inbox.id) == 1
