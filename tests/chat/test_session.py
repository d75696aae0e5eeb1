"""Widget HTTP endpoints in-process on both stacks: script, sessions and identity HMAC, access isolation,
origins, rate limits, uploads, offline mail."""

from __future__ import annotations

import gzip
import json

import httpx
from sqlalchemy import select

from channels.chat import service, tokens
from hub.db import session_scope
from hub.inbound import Identity, InboundMessage
from hub.ingest import ingest
from hub.models import Contact, ContactIdentity, Conversation, ConversationTag, Message
from tests.chat.conftest import chat_inbox, client_id, mac, start_session
from tests.factories import make_inbox, make_user, unique


async def test_widget_script_is_small_and_public(client: httpx.AsyncClient) -> None:
    resp = await client.get("/widget.js", headers={"accept-encoding": "gzip"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/javascript")
    assert "attachShadow" in resp.text
    assert len(gzip.compress(resp.content)) <= 20 * 1024


async def test_session_issues_a_verifiable_token_and_keeps_the_visitor(client: httpx.AsyncClient) -> None:
    inbox = await chat_inbox(greeting="Hello there", color="#ff0000")
    first = await start_session(client, inbox)
    claims = tokens.read(first["token"])
    assert claims.inbox_id == inbox.id and claims.visitor_id == first["visitor_id"]
    assert first["inbox"]["greeting"] == "Hello there"
    again = await start_session(client, inbox, token=first["token"])
    assert again["visitor_id"] == first["visitor_id"]
    forged = first["token"][:-2] + ("00" if not first["token"].endswith("00") else "11")
    resp = await client.get(f"/api/v1/widget/attachments/1?token={forged}")
    assert resp.status_code == 401 and "not valid" in resp.json()["detail"]


async def test_unknown_inbox_and_bad_body_are_refused(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/widget/session", content=json.dumps({"inbox": "nope"}))
    assert resp.status_code == 404 and "data-inbox" in resp.json()["detail"]
    resp = await client.post("/api/v1/widget/session", content=b"{not json")
    assert resp.status_code == 400


async def test_valid_hmac_links_the_visitor_to_the_persons_email_history(client: httpx.AsyncClient) -> None:
    secret = "s3cret-" + unique()
    inbox = await chat_inbox(secret)
    email_inbox = await make_inbox("email")
    email = f"{unique('pat')}@example.test"
    mail = await ingest(
        InboundMessage(inbox_id=email_inbox.id, provider_id=unique("mid"), sender=Identity("email", email), text="hi")
    )
    data = await start_session(
        client, inbox, identity={"email": email, "name": "Pat"}, identity_hmac=mac(secret, email)
    )
    assert data["verified"] is True
    async with session_scope() as session:
        owner = (
            await session.execute(
                select(ContactIdentity.contact_id).where(
                    ContactIdentity.kind == "visitor", ContactIdentity.address == data["visitor_id"]
                )
            )
        ).scalar_one()
        contact = await session.get(Contact, owner)
        assert contact is not None and contact.verified
    assert owner == mail.contact_id


async def test_invalid_hmac_is_refused_with_a_reason(client: httpx.AsyncClient) -> None:
    inbox = await chat_inbox("right-secret")
    body = {"inbox": inbox.public_token, "identity": {"email": "x@example.test"}, "identity_hmac": mac("wrong", "x")}
    resp = await client.post("/api/v1/widget/session", content=json.dumps(body))
    assert resp.status_code == 403 and "HMAC-SHA256" in resp.json()["detail"]
    plain = await chat_inbox()
    body["inbox"] = plain.public_token
    resp = await client.post("/api/v1/widget/session", content=json.dumps(body))
    assert resp.status_code == 403 and "no identity secret" in resp.json()["detail"]


async def test_unverified_visitor_never_reads_another_contacts_conversation(client: httpx.AsyncClient) -> None:
    inbox = await chat_inbox("k")
    email = f"{unique('alice')}@example.test"
    alice = await start_session(client, inbox, identity={"email": email}, identity_hmac=mac("k", email))
    va = await service.visitor_from_token(alice["token"])
    sent = await service.send_from_visitor(va, "my secret order 1234", client_id())
    # Bob claims Alice's email without a signature, and knows her conversation id.
    bob = await start_session(client, inbox, identity={"email": email, "name": "Bob"})
    assert bob["verified"] is False
    vb = await service.visitor_from_token(bob["token"])
    assert vb.contact_id != va.contact_id
    frames, _ = await service.history(vb)
    assert frames == []
    assert sent.conversation_id not in await service.conversation_ids(vb)
    # Bob reusing Alice's client id gets his own message, not hers.
    mine = await service.send_from_visitor(vb, "hello", "shared-id")
    theirs = await service.send_from_visitor(va, "hello", "shared-id")
    assert mine.message_id != theirs.message_id and mine.conversation_id != sent.conversation_id
    frames, _ = await service.history(vb)
    assert [f["text"] for f in frames] == ["hello"]


async def test_allowed_origins_are_enforced(client: httpx.AsyncClient) -> None:
    inbox = await chat_inbox(allowed_origins=["https://shop.example"])
    body = json.dumps({"inbox": inbox.public_token})
    resp = await client.post("/api/v1/widget/session", content=body, headers={"origin": "https://evil.example"})
    assert resp.status_code == 403 and "allowed origins" in resp.json()["detail"]
    resp = await client.post("/api/v1/widget/session", content=body, headers={"origin": "https://shop.example"})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "https://shop.example"


async def test_session_rate_limit_answers_429_with_retry_after(client: httpx.AsyncClient) -> None:
    inbox = await chat_inbox(sessions_per_ip_per_minute=2)
    body = json.dumps({"inbox": inbox.public_token})
    headers = {"x-test": unique()}
    transport = httpx.ASGITransport(app=client._transport.app, client=(unique("10.0"), 1234))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as own:
        codes = [(await own.post("/api/v1/widget/session", content=body, headers=headers)) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert int(codes[2].headers["retry-after"]) >= 1
    assert "wait" in codes[2].json()["detail"]


async def test_uploads_limits_and_private_downloads(client: httpx.AsyncClient) -> None:
    inbox = await chat_inbox(max_attachment_bytes=1000)
    alice = await start_session(client, inbox)
    bob = await start_session(client, inbox)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    resp = await client.post(
        "/api/v1/widget/attachments",
        data={"token": alice["token"], "client_id": "up1", "text": "see photo"},
        files={"file": ("photo.png", png, "image/png")},
    )
    assert resp.status_code == 201, resp.text
    again = await client.post(
        "/api/v1/widget/attachments",
        data={"token": alice["token"], "client_id": "up1"},
        files={"file": ("photo.png", png, "image/png")},
    )
    assert again.json()["id"] == resp.json()["id"] and again.json()["duplicate"] is True
    big = await client.post(
        "/api/v1/widget/attachments",
        data={"token": alice["token"], "client_id": "up2"},
        files={"file": ("big.png", b"0" * 2000, "image/png")},
    )
    assert big.status_code == 413 and "smaller" in big.json()["detail"]
    exe = await client.post(
        "/api/v1/widget/attachments",
        data={"token": alice["token"], "client_id": "up3"},
        files={"file": ("x.exe", b"MZ", "application/x-msdownload")},
    )
    assert exe.status_code == 415 and "allowed" in exe.json()["detail"]
    va = await service.visitor_from_token(alice["token"])
    frames, _ = await service.history(va)
    att = frames[-1]["attachments"][0]
    ok = await client.get(f"{att['url']}?token={alice['token']}")
    assert ok.status_code == 200 and ok.content == png
    denied = await client.get(f"{att['url']}?token={bob['token']}")
    assert denied.status_code == 404


async def test_offline_message_goes_to_the_fallback_email_inbox(client: httpx.AsyncClient) -> None:
    email_inbox = await make_inbox("email")
    inbox = await chat_inbox(offline_email_inbox_id=email_inbox.id)
    agent = await make_user("agent", inbox_ids=[inbox.id], availability="offline")
    assert agent.id
    data = await start_session(client, inbox)
    assert data["online"] is False
    visitor = await service.visitor_from_token(data["token"])
    address = f"{unique('off')}@example.test"
    outcome = await service.offline_message(visitor, address, "Please call me back", client_id())
    assert outcome["mode"] == "email"
    async with session_scope() as session:
        msg = await session.get(Message, outcome["message_id"])
        assert msg is not None and msg.inbox_id == email_inbox.id
        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None and conv.channel == "email"
        ident = (
            await session.execute(
                select(ContactIdentity).where(ContactIdentity.kind == "email", ContactIdentity.address == address)
            )
        ).scalar_one()
        assert ident.contact_id == conv.contact_id


async def test_offline_message_without_fallback_stays_in_chat_tagged(client: httpx.AsyncClient) -> None:
    inbox = await chat_inbox()
    data = await start_session(client, inbox)
    visitor = await service.visitor_from_token(data["token"])
    address = f"{unique('off')}@example.test"
    outcome = await service.offline_message(visitor, address, "Anyone?", client_id())
    assert outcome["mode"] == "chat"
    async with session_scope() as session:
        tag = await session.get(ConversationTag, (outcome["conversation_id"], "offline"))
        assert tag is not None
        conv = await session.get(Conversation, outcome["conversation_id"])
        assert conv is not None
        contact = await session.get(Contact, conv.contact_id)
        assert contact is not None and contact.email == address


async def test_prechat_requires_configured_fields(client: httpx.AsyncClient) -> None:
    inbox = await chat_inbox(
        prechat_fields=[
            {"name": "name", "label": "Your name", "required": True},
            {"name": "email", "type": "email", "required": True},
            {"name": "order", "label": "Order number"},
        ]
    )
    data = await start_session(client, inbox)
    assert data["needs_prechat"] is True
    visitor = await service.visitor_from_token(data["token"])
    try:
        await service.save_prechat(visitor, {"name": "Sam"})
        raise AssertionError("missing email accepted")
    except service.ChatError as exc:
        assert "email" in exc.detail
    email = f"{unique('sam')}@example.test"
    await service.save_prechat(visitor, {"name": "Sam", "email": email, "order": "A-1"})
    result = await service.send_from_visitor(visitor, "Where is my order?", client_id())
    async with session_scope() as session:
        contact = await session.get(Contact, result.contact_id)
        assert contact is not None
        assert (contact.name, contact.email) == ("Sam", email)
        assert contact.attributes["prechat"]["order"] == "A-1"
        # the unverified email is a plain field, never a linking identity
        linked = (
            await session.execute(select(ContactIdentity).where(ContactIdentity.address == email))
        ).scalar_one_or_none()
        assert linked is None
    again = await start_session(client, inbox, token=data["token"])
    assert again["needs_prechat"] is False


async def test_signed_phone_links_the_sms_history_too(client: httpx.AsyncClient) -> None:
    secret = "phone-" + unique()
    inbox = await chat_inbox(secret)
    sms_inbox = await make_inbox("sms")
    phone = "+1415555" + str(1000 + int(unique("")[-3:], 16) % 8999).zfill(4)
    sms = await ingest(
        InboundMessage(inbox_id=sms_inbox.id, provider_id=unique("SM"), sender=Identity("phone", phone), text="hey")
    )
    email = f"{unique('sms')}@example.test"
    body = {"identity": {"email": email, "phone": phone}, "identity_hmac": mac(secret, email)}
    # an unsigned phone is kept as a detail only
    unsigned = await start_session(client, inbox, **body)
    assert (await service.visitor_from_token(unsigned["token"])).contact_id != sms.contact_id
    signed = await start_session(client, inbox, **body, phone_hmac=mac(secret, phone))
    visitor = await service.visitor_from_token(signed["token"])
    async with session_scope() as session:
        conv = await session.get(Conversation, sms.conversation_id)
        assert conv is not None and conv.contact_id == visitor.contact_id  # the SMS thread is the same person's
    bad = await client.post(
        "/api/v1/widget/session",
        content=json.dumps({"inbox": inbox.public_token, **body, "phone_hmac": mac("nope", phone)}),
    )
    assert bad.status_code == 403 and "phone" in bad.json()["detail"]
