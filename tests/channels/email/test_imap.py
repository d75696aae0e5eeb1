"""IMAP polling against a real Dovecot started by the test: new mail stored once, flags tracked on the
server, and a server killed in the middle of a poll loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import imaplib

import pytest
from sqlalchemy import select

from channels.email.imap import KEYWORD, PollScheduler, poll_inbox
from hub import events
from hub.db import session_scope
from hub.events import DomainEvent
from hub.models import Message
from tests.channels.email import samples
from tests.channels.email.conftest import email_inbox
from tests.channels.email.dovecot import PASSWORD, USER, Dovecot, available

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))


@pytest.fixture
def dovecot():
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def _append(server: Dovecot, *raws: bytes) -> None:
    conn = imaplib.IMAP4("127.0.0.1", server.port)
    conn.login(USER, PASSWORD)
    for raw in raws:
        typ, _ = conn.append("INBOX", None, None, raw)
        assert typ == "OK"
    conn.logout()


def _flags(server: Dovecot) -> list[bytes]:
    conn = imaplib.IMAP4("127.0.0.1", server.port)
    conn.login(USER, PASSWORD)
    conn.select("INBOX")
    _, data = conn.uid("FETCH", "1:*", "(FLAGS)")
    conn.logout()
    return [d for d in data if isinstance(d, bytes)]


async def _imap_inbox(server: Dovecot, **settings):
    return await email_inbox(
        {
            "imap_host": "127.0.0.1",
            "imap_port": server.port,
            "imap_ssl": False,
            "imap_username": USER,
            "imap_poll_seconds": 1,
            **settings,
        },
        {"imap_password": PASSWORD},
    )


async def _texts(inbox_id: int) -> list[str]:
    async with session_scope() as s:
        return list(
            (await s.execute(select(Message.text).where(Message.inbox_id == inbox_id).order_by(Message.id))).scalars()
        )


async def test_new_mail_is_ingested_once(client, dovecot):
    inbox = await _imap_inbox(dovecot)
    addr = inbox.settings["address"]
    dup = samples.simple(to=addr, body="first mail")
    _append(
        dovecot,
        dup,
        samples.latin1_outlook(to=addr),
        samples.broken_mime(addr),
        b"Subject: nobody\r\n\r\nno sender at all\r\n",  # unstorable: flagged, logged, not fetched forever
    )
    result = await poll_inbox(inbox.id)
    assert (result.fetched, result.stored, result.rejected) == (4, 3, 1)
    assert all(KEYWORD.encode() in f for f in _flags(dovecot))
    assert not any(b"\\Seen" in f for f in _flags(dovecot))  # people reading the mailbox still see it unread
    again = await poll_inbox(inbox.id)
    assert again.fetched == 0
    _append(dovecot, dup, samples.simple(to=addr, body="second mail"))  # the same mail delivered twice
    third = await poll_inbox(inbox.id)
    assert (third.fetched, third.stored, third.duplicates) == (2, 1, 1)
    texts = await _texts(inbox.id)
    assert len(texts) == 4 and texts.count("first mail") == 1 and "second mail" in texts


async def test_server_killed_mid_poll_loses_and_duplicates_nothing(client, dovecot):
    inbox = await _imap_inbox(dovecot)
    addr = inbox.settings["address"]
    bodies = [f"mail number {i}" for i in range(12)]
    _append(dovecot, *(samples.simple(to=addr, body=b) for b in bodies))
    seen: list[int] = []

    async def kill_after_three(event: DomainEvent) -> None:
        if event.inbox_id == inbox.id:
            seen.append(1)
            if len(seen) == 3:
                dovecot.kill()

    events.subscribe("message.created", kill_after_three)
    with pytest.raises((OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error, EOFError)):
        await poll_inbox(inbox.id)
    stored_before = len(await _texts(inbox.id))
    assert 3 <= stored_before < len(bodies)
    dovecot.start()  # same mail folder: flags set before the crash are still there
    result = await poll_inbox(inbox.id)
    assert result.stored == len(bodies) - stored_before
    texts = await _texts(inbox.id)
    assert sorted(texts) == sorted(bodies)  # every mail exactly once
    assert (await poll_inbox(inbox.id)).fetched == 0


async def test_wrong_password_raises_and_stores_nothing(client, dovecot):
    inbox = await email_inbox(
        {"imap_host": "127.0.0.1", "imap_port": dovecot.port, "imap_ssl": False, "imap_username": USER},
        {"imap_password": "wrong"},
    )
    _append(dovecot, samples.simple(to=inbox.settings["address"]))
    with pytest.raises(imaplib.IMAP4.error):
        await poll_inbox(inbox.id)
    assert await _texts(inbox.id) == []


async def test_scheduler_polls_on_its_own(client, dovecot, stack):
    if stack.is_pg:
        pytest.skip("jobs run in `hub worker` processes on the Redis stack; the job itself is tested above")
    inbox = await _imap_inbox(dovecot)
    _append(dovecot, samples.simple(to=inbox.settings["address"], body="scheduled"))
    scheduler = PollScheduler(tick=0.05)
    await scheduler.start()
    try:
        for _ in range(200):
            if await _texts(inbox.id):
                break
            await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
    assert await _texts(inbox.id) == ["scheduled"]
