"""The shared receive path on both stacks: storing, deduplicating, threading, limits, bounces."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from channels.email import tokens
from channels.email.receive import MessageTooLarge, receive
from hub.db import session_scope
from hub.inboxes import get_inbox_config
from hub.ingest import IngestRejected
from hub.models import Attachment, Conversation, Message
from tests.channels.email import samples
from tests.channels.email.conftest import email_inbox


async def _setup(**settings):
    inbox = await email_inbox(settings)
    return inbox, await get_inbox_config(inbox.id)


async def _message(message_id: int) -> Message:
    async with session_scope() as s:
        m = await s.get(Message, message_id)
        assert m is not None
        return m


async def _attachments(message_id: int) -> dict[str, Attachment]:
    async with session_scope() as s:
        rows = (
            await s.execute(
                select(Attachment).where(Attachment.message_id == message_id).options(undefer(Attachment.data))
            )
        ).scalars()
        return {a.filename: a for a in rows}


async def test_new_mail_is_stored_with_original(client):
    inbox, cfg = await _setup()
    raw = samples.simple(to=cfg.settings["address"])
    r = await receive(cfg, raw, source="test")
    assert r.created and r.message_id and r.conversation_id
    m = await _message(r.message_id)
    assert m.direction == "in" and "printer is on fire" in m.text
    assert m.meta["email"]["subject"] == "Printer on fire"
    atts = await _attachments(r.message_id)
    assert atts["original.eml"].data == raw and atts["original.eml"].content_type == "message/rfc822"
    async with session_scope() as s:
        conv = await s.get(Conversation, r.conversation_id)
        assert conv is not None and conv.subject == "Printer on fire" and conv.inbox_id == inbox.id


async def test_duplicate_delivery_stores_once(client):
    _, cfg = await _setup()
    raw = samples.simple(to=cfg.settings["address"])
    first = await receive(cfg, raw, source="test")
    second = await receive(cfg, raw, source="test")
    assert first.created and not second.created and first.message_id == second.message_id
    async with session_scope() as s:
        n = await s.scalar(select(func.count()).select_from(Message).where(Message.inbox_id == cfg.id))
    assert n == 1


async def test_reply_threads_by_references_and_new_mail_opens_new_conversation(client):
    _, cfg = await _setup()
    addr = cfg.settings["address"]
    root = samples.new_id()
    first = await receive(cfg, samples.simple(to=addr, message_id=root), source="test")
    reply_id = samples.new_id()
    reply = await receive(
        cfg,
        samples.gmail_reply("Ann <ann@customer.test>", addr, root, [root], "Any news?", reply_id),
        source="test",
    )
    assert reply.conversation_id == first.conversation_id
    m = await _message(reply.message_id)
    assert m.text == "Any news?"
    assert "We are looking into it" in m.meta["email"]["full_text"]
    assert m.html is None  # the timeline shows the new part only; original.eml has everything
    fresh = await receive(cfg, samples.simple(to=addr, subject="Another topic"), source="test")
    assert fresh.conversation_id != first.conversation_id


async def test_same_subject_from_two_contacts_never_joins(client):
    _, cfg = await _setup()
    addr = cfg.settings["address"]
    a = await receive(cfg, samples.simple(sender="a@one.test", to=addr, subject="Help"), source="test")
    b = await receive(cfg, samples.simple(sender="b@two.test", to=addr, subject="Help"), source="test")
    assert a.conversation_id != b.conversation_id
    # b claims to answer a's mail: still not joined to a's conversation (another contact).
    c = await receive(
        cfg,
        samples.simple(sender="b@two.test", to=addr, subject="Re: Help", extra={"In-Reply-To": f"<{a.provider_id}>"}),
        source="test",
    )
    assert c.conversation_id != a.conversation_id


async def test_plus_address_token_threads_without_headers(client):
    inbox, cfg = await _setup()
    addr = cfg.settings["address"]
    first = await receive(cfg, samples.simple(sender="tok@customer.test", to=addr), source="test")
    reply_to = tokens.reply_address(addr, inbox.id, first.conversation_id)
    again = await receive(
        cfg, samples.simple(sender="tok@customer.test", to=reply_to, subject="no headers"), source="test"
    )
    assert again.conversation_id == first.conversation_id
    # The envelope recipient alone is enough too (Bcc-like delivery).
    third = await receive(
        cfg, samples.simple(sender="tok@customer.test", to=addr, subject="x"), source="test", recipients=[reply_to]
    )
    assert third.conversation_id == first.conversation_id
    # Someone else using the token does not get into the conversation.
    other = await receive(cfg, samples.simple(sender="eve@evil.test", to=reply_to), source="test")
    assert other.conversation_id != first.conversation_id
    # A forged token is ignored.
    forged = reply_to.replace(f"+c{first.conversation_id}.", f"+c{first.conversation_id}.0")
    f = await receive(cfg, samples.simple(sender="tok@customer.test", to=forged, subject="new"), source="test")
    assert f.conversation_id != first.conversation_id


async def test_attachments_limits(client):
    _, cfg = await _setup(max_attachment_bytes=50_000)
    r = await receive(cfg, samples.with_attachments(cfg.settings["address"], big=60_000), source="test")
    atts = await _attachments(r.message_id)
    assert set(atts) == {"invoice.pdf", "photo.png", "original.eml"}
    assert atts["invoice.pdf"].data == b"%PDF-1.4 fake pdf" and atts["invoice.pdf"].size == 17
    skipped = {s["filename"]: s["reason"] for s in (await _message(r.message_id)).meta["email"]["skipped_attachments"]}
    assert set(skipped) == {"setup.exe", "huge.zip"}
    assert "limit" in skipped["huge.zip"]


async def test_automated_mail_is_marked(client):
    _, cfg = await _setup()
    r = await receive(cfg, samples.auto_reply(to=cfg.settings["address"]), source="test")
    m = await _message(r.message_id)
    assert m.meta["automated"] is True
    assert "Auto-Submitted" in m.meta["email"]["automated_reason"]


async def test_charsets_survive_storage(client):
    _, cfg = await _setup()
    r = await receive(cfg, samples.latin1_outlook(to=cfg.settings["address"]), source="test")
    assert "Grüße aus Köln" in (await _message(r.message_id)).text
    r = await receive(cfg, samples.html_only_base64(to=cfg.settings["address"]), source="test")
    m = await _message(r.message_id)
    assert m.html is not None and "<script" not in m.html and "<b>team</b>" in m.html


async def test_broken_mime_is_stored(client):
    _, cfg = await _setup()
    r = await receive(cfg, samples.broken_mime(cfg.settings["address"]), source="test")
    m = await _message(r.message_id)
    assert "The body survives" in m.text and m.meta["email"]["defects"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"just text, no headers", b"Subject: no sender anywhere\r\n\r\nhello\r\n"],
)
async def test_unstorable_input_is_rejected_with_reason(client, raw):
    _, cfg = await _setup()
    with pytest.raises(IngestRejected) as err:
        await receive(cfg, raw, source="test")
    assert str(err.value)


async def test_envelope_sender_used_when_from_is_missing(client):
    _, cfg = await _setup()
    r = await receive(cfg, b"Subject: hi\r\n\r\nbody\r\n", source="test", envelope_from="env@customer.test")
    assert r.created


async def test_per_inbox_size_limit(client):
    _, cfg = await _setup(max_message_bytes=2048)
    with pytest.raises(MessageTooLarge):
        await receive(cfg, samples.simple(to=cfg.settings["address"], body="x" * 5000), source="test")


async def test_bounce_marks_outbound_failed(client):
    _, cfg = await _setup()
    first = await receive(cfg, samples.simple(sender="gone@customer.test", to=cfg.settings["address"]), source="test")
    sent_id = f"hub.999.{samples.new_id('acme.test')}"
    async with session_scope() as s:
        out = Message(
            conversation_id=first.conversation_id,
            inbox_id=cfg.id,
            direction="out",
            author_kind="agent",
            text="We replied",
            provider_id=sent_id,
            status="sent",
            meta={},
        )
        s.add(out)
        await s.flush()
        out_id = out.id
    r = await receive(
        cfg, samples.dsn(sent_id, to=cfg.settings["address"], recipient="gone@customer.test"), source="test"
    )
    assert r.bounce_for == out_id and r.message_id is None
    m = await _message(out_id)
    assert m.status == "failed"
    assert "5.1.1" in (m.error or "") and "gone@customer.test" in (m.error or "")
    assert m.meta["bounce"]["recipient"] == "gone@customer.test"
    # A report about mail the hub does not know is stored as automated mail instead of being lost.
    unknown = await receive(cfg, samples.dsn("nothing@nowhere.test", to=cfg.settings["address"]), source="test")
    assert unknown.created and (await _message(unknown.message_id)).meta["automated"] is True
