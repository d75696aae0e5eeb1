"""The ingest pipeline: identities, threading, idempotency under concurrency, merging."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from hub.db import session_scope
from hub.identities import InvalidAddress, normalise_email, normalise_phone
from hub.inbound import Identity, InboundMessage
from hub.ingest import IngestRejected, ingest
from hub.models import Contact, ContactIdentity, Conversation, Event, Message
from tests.factories import make_inbox, unique


def test_normalise_email_casefolds():
    assert normalise_email("  <Jane.Doe@Example.COM> ") == "jane.doe@example.com"
    with pytest.raises(InvalidAddress):
        normalise_email("not-an-address")


def test_normalise_phone_e164():
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert normalise_phone("(415) 555-0134") == "+14155550134"
    with pytest.raises(InvalidAddress):
        normalise_phone("12")


async def count(model, *where) -> int:
    async with session_scope() as s:
        return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_ingest_is_idempotent(client):
    inbox = await make_inbox("api")
    msg = InboundMessage(inbox_id=inbox.id, provider_id="p-1", sender=Identity("email", "Ann@Example.org"), text="hi")
    first = await ingest(msg)
    again = await ingest(msg)
    assert first.created and not again.created
    assert again.message_id == first.message_id
    assert await count(Message, Message.inbox_id == inbox.id) == 1


async def test_concurrent_ingest_of_one_provider_id_stores_once(client, stack):
    inbox = await make_inbox("api")
    address = f"{unique('race')}@example.org"
    msg = InboundMessage(inbox_id=inbox.id, provider_id="same-id", sender=Identity("email", address), text="hi")
    results = await asyncio.gather(*(ingest(msg) for _ in range(50)))
    assert sum(r.created for r in results) == 1
    assert len({r.message_id for r in results}) == 1
    assert await count(Message, Message.inbox_id == inbox.id) == 1
    assert await count(ContactIdentity, ContactIdentity.address == address) == 1
    assert await count(Contact, Contact.email == address) == 1
    assert await count(Conversation, Conversation.inbox_id == inbox.id) == 1


async def test_concurrent_first_messages_from_one_person_share_contact_and_conversation(client):
    inbox = await make_inbox("api")
    address = f"{unique('burst')}@example.org"
    msgs = [
        InboundMessage(inbox_id=inbox.id, provider_id=f"m{i}", sender=Identity("email", address), text=str(i))
        for i in range(20)
    ]
    results = await asyncio.gather(*(ingest(m) for m in msgs))
    assert len({r.contact_id for r in results}) == 1
    assert len({r.conversation_id for r in results}) == 1
    assert await count(Message, Message.inbox_id == inbox.id) == 20


async def test_threading_by_key_and_refs(client):
    inbox = await make_inbox("api")
    who = Identity("phone", "+1 415 555 0101")
    a = await ingest(InboundMessage(inbox_id=inbox.id, provider_id="t1", sender=who, thread_key="k1", text="a"))
    b = await ingest(InboundMessage(inbox_id=inbox.id, provider_id="t2", sender=who, thread_key="k1", text="b"))
    c = await ingest(InboundMessage(inbox_id=inbox.id, provider_id="t3", sender=who, thread_key="k2", text="c"))
    d = await ingest(InboundMessage(inbox_id=inbox.id, provider_id="t4", sender=who, thread_refs=["t3"], text="d"))
    assert a.conversation_id == b.conversation_id != c.conversation_id
    assert d.conversation_id == c.conversation_id
    assert a.contact_id == c.contact_id


async def test_refs_never_join_another_contacts_thread(client):
    inbox = await make_inbox("api")
    a = await ingest(InboundMessage(inbox_id=inbox.id, provider_id="x1", sender=Identity("email", "x1@ex.org")))
    b = await ingest(
        InboundMessage(inbox_id=inbox.id, provider_id="x2", sender=Identity("email", "x2@ex.org"), thread_refs=["x1"])
    )
    assert a.conversation_id != b.conversation_id


async def test_new_message_reopens_resolved_conversation(client):
    inbox = await make_inbox("api")
    who = Identity("email", f"{unique('re')}@ex.org")
    first = await ingest(InboundMessage(inbox_id=inbox.id, provider_id="r1", sender=who, text="one"))
    async with session_scope() as s:
        conv = await s.get(Conversation, first.conversation_id)
        conv.status = "resolved"
    second = await ingest(InboundMessage(inbox_id=inbox.id, provider_id="r2", sender=who, text="two"))
    assert second.conversation_id == first.conversation_id
    async with session_scope() as s:
        conv = await s.get(Conversation, first.conversation_id)
        assert conv.status == "open"
    assert (
        await count(Event, Event.conversation_id == first.conversation_id, Event.kind == "conversation.reopened") == 1
    )


async def test_verified_identity_merges_contacts(client):
    inbox = await make_inbox("api")
    email = f"{unique('m')}@ex.org"
    by_mail = await ingest(InboundMessage(inbox_id=inbox.id, provider_id="e1", sender=Identity("email", email)))
    by_phone = await ingest(
        InboundMessage(inbox_id=inbox.id, provider_id="s1", sender=Identity("phone", "+14155550199"))
    )
    assert by_mail.contact_id != by_phone.contact_id
    # An unverified claim links nothing.
    await ingest(
        InboundMessage(
            inbox_id=inbox.id,
            provider_id="s2",
            sender=Identity("phone", "+14155550199"),
            also_known_as=[Identity("email", email)],
        )
    )
    async with session_scope() as s:
        owner = (await s.execute(select(ContactIdentity.contact_id).where(ContactIdentity.address == email))).scalar()
    assert owner == by_mail.contact_id
    # A verified one merges the two people.
    await ingest(
        InboundMessage(
            inbox_id=inbox.id,
            provider_id="s3",
            sender=Identity("phone", "+14155550199"),
            also_known_as=[Identity("email", email, verified=True)],
        )
    )
    async with session_scope() as s:
        owner = (await s.execute(select(ContactIdentity.contact_id).where(ContactIdentity.address == email))).scalar()
        merged = await s.get(Contact, by_mail.contact_id)
    assert owner == by_phone.contact_id
    assert merged.merged_into_id == by_phone.contact_id


async def test_bad_identity_is_rejected_and_stores_nothing(client):
    inbox = await make_inbox("api")
    with pytest.raises(IngestRejected):
        await ingest(InboundMessage(inbox_id=inbox.id, provider_id="bad", sender=Identity("phone", "12")))
    assert await count(Message, Message.inbox_id == inbox.id) == 0


async def test_html_is_sanitised(client):
    inbox = await make_inbox("api")
    r = await ingest(
        InboundMessage(
            inbox_id=inbox.id,
            provider_id="h1",
            sender=Identity("email", "h@ex.org"),
            html='<p onclick="x()">Hi<script>alert(1)</script></p>',
        )
    )
    async with session_scope() as s:
        m = await s.get(Message, r.message_id)
    assert "<script" not in m.html and "onclick" not in m.html
    assert m.text == "Hi"


async def test_group_commit_of_mixed_messages(client):
    """Concurrent plain messages share transactions; threads, people and retries still come out right."""
    inbox = await make_inbox("api")
    tag = unique("gc")
    msgs = []
    for i in range(60):
        sender = Identity("external", f"{tag}-{i % 6}")
        key = f"{tag}-thread-{i % 3}" if i % 2 else None
        msgs.append(
            InboundMessage(inbox_id=inbox.id, provider_id=f"{tag}-{i}", sender=sender, thread_key=key, text=str(i))
        )
    msgs += msgs[:10]  # retries mixed in
    results = await asyncio.gather(*(ingest(m) for m in msgs))
    assert sum(r.created for r in results) == 60
    assert await count(Message, Message.inbox_id == inbox.id) == 60
    assert await count(ContactIdentity, ContactIdentity.address.like(f"{tag}-%")) == 6
    # 3 shared threads + one unthreaded conversation per sender who wrote without a key (senders 0, 2, 4).
    assert await count(Conversation, Conversation.inbox_id == inbox.id) == 3 + 3
    async with session_scope() as s:
        counts = (
            await s.execute(select(func.sum(Conversation.message_count)).where(Conversation.inbox_id == inbox.id))
        ).scalar_one()
    assert counts == 60


async def test_overlong_ids_are_rejected(client):
    inbox = await make_inbox("api")
    with pytest.raises(IngestRejected):
        await ingest(InboundMessage(inbox_id=inbox.id, provider_id="x" * 300, sender=Identity("external", "a")))


async def test_nul_characters_are_dropped(client):
    inbox = await make_inbox("api")
    r = await ingest(
        InboundMessage(
            inbox_id=inbox.id,
            provider_id="nul",
            sender=Identity("external", unique("n")),
            text="a\x00b",
            subject="s\x00",
            sender_name="N\x00",
        )
    )
    async with session_scope() as s:
        assert (await s.get(Message, r.message_id)).text == "ab"
