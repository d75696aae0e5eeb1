"""SMS through Twilio end to end: a real server process, requests signed with Twilio's own validator,
replies caught by a local double of the Twilio REST API."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer
from twilio.request_validator import RequestValidator

from channels.sms.optout import OPTED_OUT_REASON
from hub import dispatch
from hub.db import session_scope
from hub.models import Attachment, ContactIdentity, Conversation, Event, Inbox
from tests.channels.sms.support import (
    count_provider_id,
    message,
    message_with_status,
    post,
    stored,
    wait_for,
)
from tests.factories import make_inbox


def number() -> str:
    return f"+1646{secrets.randbelow(10**7):07d}"


def sid() -> str:
    return "SM" + secrets.token_hex(16)


class Sms:
    """An SMS inbox on the live server whose Twilio API is the test's double."""

    def __init__(self, inbox: Inbox, token: str, server_url: str) -> None:
        self.inbox = inbox
        self.token = token
        self.server_url = server_url
        self.number = inbox.settings["phone_number"]

    @property
    def sms_url(self) -> str:
        return f"{self.server_url}/webhooks/twilio/{self.inbox.public_token}/sms"

    @property
    def status_url(self) -> str:
        return f"{self.server_url}/webhooks/twilio/{self.inbox.public_token}/status"

    def form(self, sender: str, body: str = "hello", message_sid: str | None = None, **extra: str) -> dict[str, str]:
        return {
            "MessageSid": message_sid or sid(),
            "AccountSid": self.inbox.credentials["account_sid"],
            "From": sender,
            "To": self.number,
            "Body": body,
            "NumMedia": "0",
            **extra,
        }

    async def send_signed(self, url: str, form: dict[str, str], token: str | None = None) -> Any:
        signature = RequestValidator(token or self.token).compute_signature(url, form)
        return await post(url, data=form, headers={"X-Twilio-Signature": signature})

    async def text(self, sender: str, body: str = "hello", **extra: str) -> tuple[Any, dict[str, str]]:
        form = self.form(sender, body, **extra)
        return await self.send_signed(self.sms_url, form), form


async def sms_inbox(live_server: Any, twilio: Any, **settings: Any) -> Sms:
    token = secrets.token_hex(16)
    inbox = await make_inbox(
        "sms",
        settings={"phone_number": number(), "api_host": twilio.url, "public_base_url": live_server.url, **settings},
        credentials={"account_sid": "AC" + secrets.token_hex(16), "auth_token": token},
    )
    return Sms(inbox, token, live_server.url)


async def reply(conversation_id: int, text: str = "Thanks, we are on it.") -> int:
    async with session_scope() as s:
        conv = await s.get(Conversation, conversation_id)
        assert conv is not None
        msg = await dispatch.queue_outbound(s, conv, text=text, author_kind="agent")
    await dispatch.after_commit(msg, conv)
    return msg.id


async def test_inbound_sms_is_stored_and_answered_with_empty_twiml(client, live_server, twilio):
    sms = await sms_inbox(live_server, twilio)
    customer = number()
    resp, form = await sms.text(customer, "My order has not arrived")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/xml")
    assert "<Response" in resp.text and "<Message" not in resp.text
    msg = await stored(sms.inbox.id, form["MessageSid"])
    assert msg is not None and msg.text == "My order has not arrived" and msg.direction == "in"
    async with session_scope() as s:
        conv = await s.get(Conversation, msg.conversation_id)
        ident = (
            await s.execute(select(ContactIdentity).where(ContactIdentity.contact_id == conv.contact_id))
        ).scalar_one()
    assert conv.thread_key == f"{sms.number}:{customer}"
    assert (ident.kind, ident.address) == ("phone", customer)


async def test_same_pair_is_one_conversation(client, live_server, twilio):
    sms = await sms_inbox(live_server, twilio)
    alice, bob = number(), number()
    _, f1 = await sms.text(alice, "one")
    _, f2 = await sms.text(alice, "two")
    _, f3 = await sms.text(bob, "three")
    m1, m2, m3 = [await stored(sms.inbox.id, f["MessageSid"]) for f in (f1, f2, f3)]
    assert m1.conversation_id == m2.conversation_id != m3.conversation_id


async def test_mms_media_become_attachments_fetched_after_the_answer(client, live_server, twilio):
    sms = await sms_inbox(live_server, twilio)
    account = sms.inbox.credentials["account_sid"]
    own = f"{twilio.url}/2010-04-01/Accounts/{account}/Messages/MM1/Media/ME1"
    # The same double under another host name stands in for a URL that is not Twilio's: no credentials go there.
    foreign = f"http://localhost:{twilio.port}/files/elsewhere.pdf"
    twilio.files = {
        f"/2010-04-01/Accounts/{account}/Messages/MM1/Media/ME1": b"\xff\xd8JPEG",
        "/files/elsewhere.pdf": b"%PDF",
    }
    media = {
        "NumMedia": "2",
        "MediaUrl0": own,
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": foreign,
        "MediaContentType1": "application/pdf",
    }
    resp, form = await sms.text(number(), "", **media)
    assert resp.status_code == 200, resp.text
    msg = await stored(sms.inbox.id, form["MessageSid"])

    async def fetched() -> list[Attachment] | None:
        async with session_scope() as s:
            rows = (
                (
                    await s.execute(
                        select(Attachment)
                        .where(Attachment.message_id == msg.id)
                        .order_by(Attachment.id)
                        .options(undefer(Attachment.data))
                    )
                )
                .scalars()
                .all()
            )
        return list(rows) if all(r.data is not None for r in rows) else None

    rows = await wait_for(fetched)
    assert [(a.content_type, a.source_url, a.data) for a in rows] == [
        ("image/jpeg", own, b"\xff\xd8JPEG"),
        ("application/pdf", foreign, b"%PDF"),
    ]
    assert rows[0].filename.endswith((".jpg", ".jpeg")) and rows[0].size == 6
    gets = {r["path"]: r["headers"].get("authorization", "") for r in twilio.requests if r["method"] == "GET"}
    assert gets[f"/2010-04-01/Accounts/{account}/Messages/MM1/Media/ME1"].startswith("Basic ")
    assert gets["/files/elsewhere.pdf"] == ""


async def test_duplicate_message_sid_stores_one_message(client, live_server, twilio):
    sms = await sms_inbox(live_server, twilio)
    form = sms.form(number(), "retry me")
    first = await sms.send_signed(sms.sms_url, form)
    again = await asyncio.gather(*(sms.send_signed(sms.sms_url, form) for _ in range(5)))
    assert first.status_code == 200 and all(r.status_code == 200 for r in again)
    assert await count_provider_id(sms.inbox.id, form["MessageSid"]) == 1


async def test_bad_requests_are_refused_and_store_nothing(client, live_server, twilio):
    sms = await sms_inbox(live_server, twilio)
    form = sms.form(number(), "forged")
    # Missing signature, wrong signature, signature made with another token, or over another URL.
    assert (await post(sms.sms_url, data=form)).status_code == 403
    assert (await post(sms.sms_url, data=form, headers={"X-Twilio-Signature": "bm9wZQ=="})).status_code == 403
    assert (await sms.send_signed(sms.sms_url, form, token="not-the-token")).status_code == 403
    other_url = sms.sms_url.replace("/sms", "/status")
    sig = RequestValidator(sms.token).compute_signature(other_url, form)
    resp = await post(sms.sms_url, data=form, headers={"X-Twilio-Signature": sig})
    assert resp.status_code == 403 and "X-Twilio-Signature" in resp.json()["detail"]
    # A body changed after signing.
    sig = RequestValidator(sms.token).compute_signature(sms.sms_url, form)
    resp = await post(sms.sms_url, data={**form, "Body": "tampered"}, headers={"X-Twilio-Signature": sig})
    assert resp.status_code == 403
    # Unknown inbox.
    unknown = f"{live_server.url}/webhooks/twilio/no-such-inbox/sms"
    assert (await sms.send_signed(unknown, form)).status_code == 404
    # Signed but malformed: no From, a From that is no phone number, a bad NumMedia, media without a URL.
    for bad in (
        {k: v for k, v in form.items() if k != "From"},
        {**form, "From": "not a number"},
        {**form, "NumMedia": "lots"},
        {**form, "NumMedia": "1"},
        {k: v for k, v in form.items() if k != "MessageSid"},
    ):
        resp = await sms.send_signed(sms.sms_url, bad)
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["detail"]
    # Not a form at all.
    sig = RequestValidator(sms.token).compute_signature(sms.sms_url, {})
    resp = await post(
        sms.sms_url, content=b'{"From": "+1"}', headers={"X-Twilio-Signature": sig, "content-type": "application/json"}
    )
    assert resp.status_code == 400
    # Oversize body.
    huge = {**form, "Body": "x" * 200_000}
    assert (await sms.send_signed(sms.sms_url, huge)).status_code == 413
    assert await count_provider_id(sms.inbox.id, form["MessageSid"]) == 0


async def test_reply_is_sent_through_twilio_and_status_callbacks_update_it(
    client, live_server, twilio, outbound_worker
):
    sms = await sms_inbox(live_server, twilio)
    customer = number()
    _, form = await sms.text(customer, "Where is my parcel?")
    inbound = await stored(sms.inbox.id, form["MessageSid"])
    mid = await reply(inbound.conversation_id, "It ships today.")
    sent = await wait_for(lambda: message_with_status(mid, "sent"))
    [req] = twilio.sent()
    account = sms.inbox.credentials["account_sid"]
    assert req["path"] == f"/2010-04-01/Accounts/{account}/Messages.json"
    assert req["form"]["To"] == customer and req["form"]["From"] == sms.number
    assert req["form"]["Body"] == "It ships today."
    assert req["headers"]["authorization"].startswith("Basic ")
    assert sent.provider_id == req["sid"]
    callback = req["form"]["StatusCallback"]
    assert callback.startswith(sms.status_url)

    status = {"MessageSid": req["sid"], "MessageStatus": "delivered", "AccountSid": account, "To": customer}
    resp = await sms.send_signed(callback, status)
    assert resp.status_code == 200, resp.text
    assert (await message(mid)).status == "delivered"
    # A late "sent" never moves it back; a wrongly signed callback is refused.
    await sms.send_signed(callback, {**status, "MessageStatus": "sent"})
    assert (await message(mid)).status == "delivered"
    resp = await post(callback, data={**status, "MessageStatus": "failed"}, headers={"X-Twilio-Signature": "x"})
    assert resp.status_code == 403
    assert (await message(mid)).status == "delivered"

    # A second reply the carrier cannot deliver: the agent sees why.
    mid2 = await reply(inbound.conversation_id, "Tracking link follows.")
    await wait_for(lambda: message_with_status(mid2, "sent"))
    req2 = twilio.sent()[-1]
    failed = {
        "MessageSid": req2["sid"],
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "AccountSid": account,
    }
    resp = await sms.send_signed(req2["form"]["StatusCallback"], failed)
    assert resp.status_code == 200
    m2 = await message(mid2)
    assert m2.status == "failed"
    assert "30003" in m2.error and "unreachable" in m2.error


@pytest.mark.timeout(300)
async def test_rate_limit_is_retried_and_client_errors_fail_with_twilio_code(
    client, live_server, twilio, outbound_worker
):
    sms = await sms_inbox(live_server, twilio)
    _, form = await sms.text(number(), "hi")
    conv_id = (await stored(sms.inbox.id, form["MessageSid"])).conversation_id
    twilio.script.append((429, {"code": 20429, "message": "Too Many Requests", "status": 429}, {"Retry-After": "1"}))
    mid = await reply(conv_id, "after a wait")
    # Generous: on a loaded machine a stalled job is only swept back by the queue after its timeout.
    await wait_for(lambda: message_with_status(mid, "sent"), timeout=150)
    assert len(twilio.sent()) == 1 and twilio.requests[0]["scripted"] == 429

    twilio.script.append((400, {"code": 21211, "message": "The 'To' number is not valid.", "status": 400}, {}))
    mid2 = await reply(conv_id, "never arrives")
    failed = await wait_for(lambda: message_with_status(mid2, "failed"))
    assert "21211" in failed.error and "not a valid phone number" in failed.error
    assert len(twilio.sent()) == 1  # not retried


async def test_stop_blocks_replies_until_start(client, live_server, twilio, outbound_worker):
    sms = await sms_inbox(live_server, twilio, help_reply="Acme support: reply to this number. STOP to opt out.")
    customer = number()
    _, first = await sms.text(customer, "hello")
    conv_id = (await stored(sms.inbox.id, first["MessageSid"])).conversation_id

    resp, _ = await sms.text(customer, "Stop")
    assert resp.status_code == 200
    mid = await reply(conv_id, "are you there?")
    failed = await wait_for(lambda: message_with_status(mid, "failed"))
    assert OPTED_OUT_REASON in failed.error
    assert twilio.sent() == []
    # A retried STOP records nothing new.
    resp, _ = await sms.text(customer, "UNSUBSCRIBE")

    resp, _ = await sms.text(customer, "help")
    assert "<Message>Acme support" in resp.text

    await sms.text(customer, "start")
    mid2 = await reply(conv_id, "welcome back")
    await wait_for(lambda: message_with_status(mid2, "sent"))
    assert [r["form"]["Body"] for r in twilio.sent()] == ["welcome back"]
    async with session_scope() as s:
        kinds = (
            (await s.execute(select(Event.kind).where(Event.inbox_id == sms.inbox.id).order_by(Event.id)))
            .scalars()
            .all()
        )
    assert [k for k in kinds if k.startswith("sms.")] == ["sms.opted_out", "sms.opted_in"]


async def test_twilio_reported_opt_out_is_remembered(client, live_server, twilio, outbound_worker):
    sms = await sms_inbox(live_server, twilio)
    _, form = await sms.text(number(), "hi")
    conv_id = (await stored(sms.inbox.id, form["MessageSid"])).conversation_id
    twilio.script.append(
        (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}, {})
    )
    mid = await reply(conv_id, "first")
    assert OPTED_OUT_REASON in (await wait_for(lambda: message_with_status(mid, "failed"))).error
    mid2 = await reply(conv_id, "second")
    assert OPTED_OUT_REASON in (await wait_for(lambda: message_with_status(mid2, "failed"))).error
    assert len(twilio.requests) == 1  # the second never reached Twilio


async def test_agent_reply_through_the_rest_api_reaches_twilio(client, live_server, twilio, outbound_worker):
    """The whole path an agent uses: REST reply on the live server -> its delivery runner -> Twilio double."""
    from tests.factories import auth_headers, make_user

    sms = await sms_inbox(live_server, twilio)
    customer = number()
    _, form = await sms.text(customer, "Can I change my address?")
    conv_id = (await stored(sms.inbox.id, form["MessageSid"])).conversation_id
    agent = await make_user("agent", inbox_ids=[sms.inbox.id])
    resp = await post(
        f"{live_server.url}/api/v1/conversations/{conv_id}/messages",
        json={"text": "Yes, reply with the new one."},
        headers=await auth_headers(agent),
    )
    assert resp.status_code in (200, 201), resp.text
    mid = int(resp.json()["id"])
    sent = await wait_for(lambda: message_with_status(mid, "sent"))
    [req] = twilio.sent()
    assert req["form"]["To"] == customer and req["form"]["Body"] == "Yes, reply with the new one."
    assert sent.provider_id == req["sid"]
    resp = await sms.send_signed(
        req["form"]["StatusCallback"], {"MessageSid": req["sid"], "MessageStatus": "delivered"}
    )
    assert resp.status_code == 200
    assert (await message(mid)).status == "delivered"


async def test_twilio_retry_after_reaches_the_kernel(client, live_server, twilio):
    """Called directly: a 429's Retry-After becomes DeliveryError.retry_after (the kernel waits that long)."""
    import pytest

    from channels.sms.send import send
    from hub.inbound import Identity
    from hub.inboxes import get_inbox_config
    from hub.outbound import DeliveryError, OutboundMessage

    sms = await sms_inbox(live_server, twilio)
    config = await get_inbox_config(sms.inbox.id)
    out = OutboundMessage(message_id=1, conversation_id=1, inbox=config, to=Identity("phone", number()), text="x")
    twilio.script.append((429, {"code": 20429, "message": "Too Many Requests", "status": 429}, {"Retry-After": "7"}))
    with pytest.raises(DeliveryError) as info:
        await send(out)
    assert info.value.retry and info.value.retry_after == 7.0 and info.value.code == "20429"
    twilio.script.append((503, {"code": 20500, "message": "Internal error", "status": 503}, {}))
    with pytest.raises(DeliveryError) as info:
        await send(out)
    assert info.value.retry and info.value.retry_after is None
    result = await send(out)
    assert result.provider_id == twilio.sent()[-1]["sid"]


async def test_incomplete_inbox_is_a_clear_503_and_replies_fail_with_the_reason(client, live_server, twilio):
    inbox = await make_inbox("sms", settings={"phone_number": number()}, credentials={"account_sid": "AC1"})
    resp = await post(
        f"{live_server.url}/webhooks/twilio/{inbox.public_token}/sms",
        data={"From": number()},
        headers={"X-Twilio-Signature": "x"},
    )
    assert resp.status_code == 503 and "credentials are incomplete" in resp.json()["detail"]

    from channels.sms.send import send
    from hub.inbound import Identity
    from hub.inboxes import get_inbox_config
    from hub.outbound import DeliveryError, OutboundMessage

    config = await get_inbox_config(inbox.id)
    out = OutboundMessage(message_id=1, conversation_id=1, inbox=config, to=Identity("phone", number()), text="x")
    try:
        await send(out)
    except DeliveryError as exc:
        assert not exc.retry and "auth_token" in exc.reason
    else:
        raise AssertionError("sent without credentials")


async def test_reply_goes_to_the_number_of_the_conversation(client, live_server, twilio, outbound_worker):
    """A contact with two numbers (merged) is answered on the number the conversation is with."""
    from hub.contacts import merge_contacts

    sms = await sms_inbox(live_server, twilio)
    mobile, work = number(), number()
    _, f1 = await sms.text(mobile, "from my mobile")
    _, f2 = await sms.text(work, "from my work phone")
    m1, m2 = await stored(sms.inbox.id, f1["MessageSid"]), await stored(sms.inbox.id, f2["MessageSid"])
    async with session_scope() as s:
        c1, c2 = await s.get(Conversation, m1.conversation_id), await s.get(Conversation, m2.conversation_id)
        await merge_contacts(s, source_id=c2.contact_id, target_id=c1.contact_id)
    first = await reply(m1.conversation_id, "to the mobile")
    await wait_for(lambda: message_with_status(first, "sent"))
    second = await reply(m2.conversation_id, "to the work phone")
    await wait_for(lambda: message_with_status(second, "sent"))
    assert [(r["form"]["To"], r["form"]["Body"]) for r in twilio.sent()] == [
        (mobile, "to the mobile"),
        (work, "to the work phone"),
    ]


async def test_inbox_may_be_addressed_by_id(client, live_server, twilio):
    sms = await sms_inbox(live_server, twilio)
    url = f"{live_server.url}/webhooks/twilio/{sms.inbox.id}/sms"
    form = sms.form(number(), "by id")
    resp = await sms.send_signed(url, form)
    assert resp.status_code == 200, resp.text
    assert await count_provider_id(sms.inbox.id, form["MessageSid"]) == 1
    # An inbox of another channel is not an SMS inbox.
    other = await make_inbox("slack", settings={}, credentials={"bot_token": "xoxb-1", "signing_secret": "s"})
    assert (await sms.send_signed(f"{live_server.url}/webhooks/twilio/{other.id}/sms", form)).status_code == 404
