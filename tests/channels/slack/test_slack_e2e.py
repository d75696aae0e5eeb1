"""Slack end to end: a real server process, Events API requests signed per Slack's spec (checked by the SDK's
SignatureVerifier), Web API calls caught by a local Slack double."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from hub import dispatch
from hub.contacts import merge_contacts
from hub.db import session_scope
from hub.inbound import Identity, InboundMessage
from hub.ingest import ingest
from hub.models import ContactIdentity, Conversation, Inbox
from tests.channels.sms.support import count_provider_id, message_with_status, post, stored, wait_for
from tests.channels.sms.test_sms_e2e import number, sms_inbox
from tests.factories import make_inbox


def ts() -> str:
    return f"{time.time():.6f}"


class Slack:
    def __init__(self, inbox: Inbox, secret: str, server_url: str, team: str) -> None:
        self.inbox = inbox
        self.secret = secret
        self.team = team
        self.url = f"{server_url}/webhooks/slack/{inbox.public_token}/events"

    def headers(self, body: bytes, secret: str | None = None, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(secret or self.secret).generate_signature(timestamp=stamp, body=body)
        return {
            "content-type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or "",
        }

    async def deliver(self, payload: dict[str, Any], **kwargs: Any) -> Any:
        body = json.dumps(payload).encode()
        return await post(self.url, content=body, headers=self.headers(body, **kwargs))

    def event(self, user: str, text: str = "hello", channel: str = "C0SUPPORT", **fields: Any) -> dict[str, Any]:
        event = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts(),
            "channel": channel,
            "channel_type": "im" if channel.startswith("D") else "channel",
            "team": self.team,
            **fields,
        }
        return {
            "token": "legacy",
            "team_id": self.team,
            "api_app_id": "A0HUB",
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(6).upper(),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team, "user_id": "U0HUBBOT", "is_bot": True}],
            "event": {k: v for k, v in event.items() if v is not None},
        }


def user_id() -> str:
    return "U" + secrets.token_hex(5).upper()


async def slack_inbox(live_server: Any, slack: Any) -> Slack:
    secret = secrets.token_hex(16)
    inbox = await make_inbox(
        "slack",
        settings={"api_host": f"{slack.url}/api/", "bot_user_id": "U0HUBBOT"},
        credentials={"bot_token": "xoxb-" + secrets.token_hex(8), "signing_secret": secret},
    )
    return Slack(inbox, secret, live_server.url, "T" + secrets.token_hex(4).upper())


async def reply(conversation_id: int, text: str) -> int:
    async with session_scope() as s:
        conv = await s.get(Conversation, conversation_id)
        msg = await dispatch.queue_outbound(s, conv, text=text, author_kind="agent")
    await dispatch.after_commit(msg, conv)
    return msg.id


async def identities(contact_id: int) -> set[tuple[str, str]]:
    async with session_scope() as s:
        rows = (await s.execute(select(ContactIdentity).where(ContactIdentity.contact_id == contact_id))).scalars()
        return {(r.kind, r.address) for r in rows}


async def conversation(conversation_id: int) -> Conversation:
    async with session_scope() as s:
        conv = await s.get(Conversation, conversation_id)
        assert conv is not None
        return conv


async def test_url_verification_echoes_the_challenge(client, live_server, slack):
    sl = await slack_inbox(live_server, slack)
    resp = await sl.deliver({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9C"})
    assert resp.status_code == 200
    assert resp.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9C"}


async def test_channel_thread_is_one_conversation_with_profile(client, live_server, slack):
    sl = await slack_inbox(live_server, slack)
    alice, bob = user_id(), user_id()
    alice_email = f"alice-{secrets.token_hex(3)}@example.test"
    slack.add_user(alice, "Alice Example", alice_email)
    slack.add_user(bob, "Bob Example")
    top = sl.event(alice, "The export &lt;button&gt; is broken &amp; slow")
    resp = await sl.deliver(top)
    assert resp.status_code == 200 and resp.json()["stored"] is True
    root_ts = top["event"]["ts"]
    first = await stored(sl.inbox.id, f"C0SUPPORT:{root_ts}")
    assert first.text == "The export <button> is broken & slow"
    conv = await conversation(first.conversation_id)
    assert conv.thread_key == f"C0SUPPORT:{root_ts}"
    assert await identities(conv.contact_id) == {("slack", f"{sl.team}:{alice}"), ("email", alice_email)}

    in_thread = sl.event(alice, "Any news?", thread_ts=root_ts)
    other_user = sl.event(bob, "Same here", thread_ts=root_ts)
    new_top = sl.event(alice, "Unrelated question")
    for payload in (in_thread, other_user, new_top):
        assert (await sl.deliver(payload)).status_code == 200
    m2, m3, m4 = [await stored(sl.inbox.id, f"C0SUPPORT:{p['event']['ts']}") for p in (in_thread, other_user, new_top)]
    assert m2.conversation_id == m3.conversation_id == first.conversation_id != m4.conversation_id
    # users.info is asked once per user, then cached.
    assert sorted(r["query"].get("user") for r in slack.matching("/users.info")) == sorted([alice, bob])


async def test_direct_message_is_keyed_by_channel(client, live_server, slack):
    sl = await slack_inbox(live_server, slack)
    user = user_id()
    slack.add_user(user, "Dee Em")
    one, two = sl.event(user, "hi", channel="D0DIRECT"), sl.event(user, "again", channel="D0DIRECT")
    await sl.deliver(one)
    await sl.deliver(two)
    m1 = await stored(sl.inbox.id, f"D0DIRECT:{one['event']['ts']}")
    m2 = await stored(sl.inbox.id, f"D0DIRECT:{two['event']['ts']}")
    assert m1.conversation_id == m2.conversation_id
    assert (await conversation(m1.conversation_id)).thread_key == "D0DIRECT"


async def test_retries_and_mentions_store_one_message(client, live_server, slack):
    sl = await slack_inbox(live_server, slack)
    user = user_id()
    slack.add_user(user, "Re Try")
    payload = sl.event(user, "<@U0HUBBOT> help please")
    mention = json.loads(json.dumps(payload))
    mention["event"]["type"] = "app_mention"
    mention["event_id"] = "Ev" + secrets.token_hex(6).upper()
    results = await asyncio.gather(*(sl.deliver(payload) for _ in range(4)), sl.deliver(mention))
    assert all(r.status_code == 200 for r in results)
    assert await count_provider_id(sl.inbox.id, f"C0SUPPORT:{payload['event']['ts']}") == 1


async def test_bots_edits_and_own_posts_are_ignored(client, live_server, slack):
    sl = await slack_inbox(live_server, slack)
    user = user_id()
    slack.add_user(user, "Human Person")
    ignored = [
        sl.event(user, "bot says", bot_id="B123"),
        sl.event(None, "legacy bot", subtype="bot_message", bot_id="B9", username="deploybot"),
        sl.event(user, "edited", subtype="message_changed"),
        sl.event(user, "", subtype="channel_join"),
        sl.event("U0HUBBOT", "the hub's own reply"),
        {**sl.event(user), "event": {"type": "reaction_added", "user": user, "reaction": "tada"}},
        {"type": "app_rate_limited", "team_id": sl.team, "minute_rate_limited": 1},
    ]
    for payload in ignored:
        resp = await sl.deliver(payload)
        assert resp.status_code == 200, resp.text
        assert resp.json()["stored"] is False
        if "event" in payload and "ts" in payload["event"]:
            assert await count_provider_id(sl.inbox.id, f"C0SUPPORT:{payload['event']['ts']}") == 0


async def test_bad_requests_are_refused_and_store_nothing(client, live_server, slack):
    sl = await slack_inbox(live_server, slack)
    user = user_id()
    payload = sl.event(user, "forged")
    body = json.dumps(payload).encode()
    key = f"C0SUPPORT:{payload['event']['ts']}"
    # Missing, wrong and stale signatures.
    assert (await post(sl.url, content=body, headers={"content-type": "application/json"})).status_code == 403
    assert (await sl.deliver(payload, secret="wrong-secret")).status_code == 403
    stale = await sl.deliver(payload, timestamp=int(time.time()) - 600)
    assert stale.status_code == 403 and "five minutes" in stale.json()["detail"]
    headers = sl.headers(body)
    tampered = body.replace(b"forged", b"FORGED")
    assert (await post(sl.url, content=tampered, headers=headers)).status_code == 403
    bad_stamp = {**headers, "X-Slack-Request-Timestamp": "yesterday"}
    assert (await post(sl.url, content=body, headers=bad_stamp)).status_code == 403
    # Unknown inbox.
    unknown = sl.url.replace(sl.inbox.public_token, "no-such-inbox")
    assert (await post(unknown, content=body, headers=headers)).status_code == 404
    # Signed but malformed.
    for bad in (
        b"{not json",
        b"[1, 2]",
        json.dumps({"type": "event_callback"}).encode(),
        json.dumps({"type": "url_verification"}).encode(),
        json.dumps({**payload, "event": {**payload["event"], "channel": None}}).encode(),
    ):
        resp = await post(sl.url, content=bad, headers=sl.headers(bad))
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["detail"]
    # Oversize.
    huge = json.dumps({**payload, "padding": "x" * 400_000}).encode()
    assert (await post(sl.url, content=huge, headers=sl.headers(huge))).status_code == 413
    assert await count_provider_id(sl.inbox.id, key) == 0


async def test_agent_reply_posts_into_the_thread_and_waits_out_rate_limits(client, live_server, slack, outbound_worker):
    sl = await slack_inbox(live_server, slack)
    user = user_id()
    slack.add_user(user, "Thread Starter")
    top = sl.event(user, "Login fails with <error>")
    await sl.deliver(top)
    inbound = await stored(sl.inbox.id, f"C0SUPPORT:{top['event']['ts']}")
    slack.script.append((429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))
    mid = await reply(inbound.conversation_id, "Fixed in <v2> & later")
    sent = await wait_for(lambda: message_with_status(mid, "sent"), timeout=60)
    posts = [r for r in slack.requests if r["path"].endswith("chat.postMessage")]
    assert [p.get("scripted") for p in posts] == [429, None]  # waited out, then posted once
    args = slack.args(posts[-1])
    assert args["channel"] == "C0SUPPORT" and args["thread_ts"] == top["event"]["ts"]
    assert args["text"] == "Fixed in &lt;v2&gt; &amp; later"
    assert posts[-1]["headers"]["authorization"] == f"Bearer {sl.inbox.credentials['bot_token']}"
    assert sent.provider_id == f"C0SUPPORT:{posts[-1]['ts']}"
    # Slack echoes the hub's own post as an event: it is recognised and not stored again.
    echo = sl.event("U0HUBBOT", "Fixed in v2", thread_ts=top["event"]["ts"])
    echo["event"].update(ts=posts[-1]["ts"], bot_id="B0HUB", app_id="A0HUB")
    assert (await sl.deliver(echo)).json()["stored"] is False


async def test_dm_reply_has_no_thread_and_slack_errors_are_shown(client, live_server, slack, outbound_worker):
    sl = await slack_inbox(live_server, slack)
    user = user_id()
    slack.add_user(user, "Dm Person")
    dm = sl.event(user, "psst", channel="D0PRIVATE")
    await sl.deliver(dm)
    inbound = await stored(sl.inbox.id, f"D0PRIVATE:{dm['event']['ts']}")
    mid = await reply(inbound.conversation_id, "hello privately")
    await wait_for(lambda: message_with_status(mid, "sent"))
    args = slack.args(slack.posts()[-1])
    assert args["channel"] == "D0PRIVATE" and "thread_ts" not in args

    slack.script.append((200, {"ok": False, "error": "not_in_channel"}, {}))
    mid2 = await reply(inbound.conversation_id, "nobody hears this")
    failed = await wait_for(lambda: message_with_status(mid2, "failed"))
    assert "invite it" in failed.error and "not_in_channel" in failed.error


async def test_one_customer_across_email_slack_and_sms_is_one_contact(client, live_server, slack):
    from tests.channels.sms.conftest import TwilioDouble

    email = f"carol-{secrets.token_hex(3)}@example.test"
    email_inbox = await make_inbox("email", settings={"address": f"support-{secrets.token_hex(3)}@acme.test"})
    by_email = await ingest(
        InboundMessage(
            inbox_id=email_inbox.id,
            provider_id=f"<{secrets.token_hex(8)}@mail.example.test>",
            sender=Identity("email", email.upper()),
            sender_name="Carol",
            subject="Invoice",
            text="Where is my invoice?",
        )
    )
    # Slack: her profile carries the same (verified) email, so her Slack posts land on her contact.
    sl = await slack_inbox(live_server, slack)
    carol = user_id()
    slack.add_user(carol, "Carol Customer", email)
    payload = sl.event(carol, "Also asking here")
    await sl.deliver(payload)
    on_slack = await stored(sl.inbox.id, f"C0SUPPORT:{payload['event']['ts']}")
    slack_conv = await conversation(on_slack.conversation_id)
    assert slack_conv.contact_id == by_email.contact_id

    # SMS: a phone number proves nothing by itself; once an agent merges, her texts join the same contact.
    twilio = await TwilioDouble().start()
    try:
        sms = await sms_inbox(live_server, twilio)
        phone = number()
        _, first = await sms.text(phone, "and by text")
        sms_conv = await conversation((await stored(sms.inbox.id, first["MessageSid"])).conversation_id)
        assert sms_conv.contact_id != by_email.contact_id
        async with session_scope() as s:
            await merge_contacts(s, source_id=sms_conv.contact_id, target_id=by_email.contact_id)
        _, later = await sms.text(phone, "one more text")
        later_msg = await stored(sms.inbox.id, later["MessageSid"])
    finally:
        await twilio.stop()
    assert (await conversation(later_msg.conversation_id)).contact_id == by_email.contact_id
    assert await identities(by_email.contact_id) >= {
        ("email", email),
        ("slack", f"{sl.team}:{carol}"),
        ("phone", phone),
    }
    async with session_scope() as s:
        channels = set(
            (await s.execute(select(Conversation.channel).where(Conversation.contact_id == by_email.contact_id)))
            .scalars()
            .all()
        )
    assert channels == {"email", "slack", "sms"}


async def test_agent_reply_through_the_rest_api_reaches_slack(client, live_server, slack, outbound_worker):
    from tests.factories import auth_headers, make_user

    sl = await slack_inbox(live_server, slack)
    user = user_id()
    slack.add_user(user, "Rest Person")
    top = sl.event(user, "Question via Slack")
    await sl.deliver(top)
    conv_id = (await stored(sl.inbox.id, f"C0SUPPORT:{top['event']['ts']}")).conversation_id
    agent = await make_user("agent", inbox_ids=[sl.inbox.id])
    resp = await post(
        f"{live_server.url}/api/v1/conversations/{conv_id}/messages",
        json={"text": "Answer from the inbox"},
        headers=await auth_headers(agent),
    )
    assert resp.status_code in (200, 201), resp.text
    mid = int(resp.json()["id"])
    sent = await wait_for(lambda: message_with_status(mid, "sent"))
    args = slack.args(slack.posts()[-1])
    assert (args["channel"], args["thread_ts"], args["text"]) == (
        "C0SUPPORT",
        top["event"]["ts"],
        "Answer from the inbox",
    )
    assert sent.provider_id == f"C0SUPPORT:{slack.posts()[-1]['ts']}"


async def test_shared_files_are_fetched_with_the_bot_token(client, live_server, slack):
    from sqlalchemy.orm import undefer

    from hub.models import Attachment

    sl = await slack_inbox(live_server, slack)
    user = user_id()
    slack.add_user(user, "File Sharer")
    slack.files = {"/files/T1/F1/screenshot.png": b"\x89PNG-bytes"}
    files = [
        {
            "id": "F1",
            "name": "screenshot.png",
            "mimetype": "image/png",
            "size": 10,
            "url_private": f"{slack.url}/files/T1/F1/screenshot.png",
        },
        {"id": "F2", "name": "huge.mov", "mimetype": "video/quicktime", "size": 10**9, "url_private": "https://x"},
    ]
    payload = sl.event(user, "see attached", subtype="file_share", files=files)
    assert (await sl.deliver(payload)).status_code == 200
    msg = await stored(sl.inbox.id, f"C0SUPPORT:{payload['event']['ts']}")
    assert msg.meta["slack"]["files_too_large"] == ["huge.mov"]

    async def fetched() -> Attachment | None:
        async with session_scope() as s:
            att = (
                await s.execute(
                    select(Attachment).where(Attachment.message_id == msg.id).options(undefer(Attachment.data))
                )
            ).scalar_one()
        return att if att.data is not None else None

    att = await wait_for(fetched)
    assert (att.filename, att.content_type, att.data) == ("screenshot.png", "image/png", b"\x89PNG-bytes")
    [get] = [r for r in slack.requests if r["method"] == "GET" and r["path"].startswith("/files/")]
    assert get["headers"]["authorization"] == f"Bearer {sl.inbox.credentials['bot_token']}"


async def test_incomplete_inbox_is_a_clear_503(client, live_server, slack):
    inbox = await make_inbox("slack", settings={}, credentials={"bot_token": "xoxb-1"})
    resp = await post(f"{live_server.url}/webhooks/slack/{inbox.public_token}/events", content=b"{}")
    assert resp.status_code == 503 and "signing_secret" in resp.json()["detail"]


async def test_reply_without_a_thread_opens_a_dm(client, live_server, slack):
    """A conversation an agent starts with a Slack contact has no thread yet: the app opens a DM."""
    from channels.slack.send import send
    from hub.inboxes import get_inbox_config
    from hub.outbound import OutboundMessage

    sl = await slack_inbox(live_server, slack)
    config = await get_inbox_config(sl.inbox.id)
    out = OutboundMessage(
        message_id=1, conversation_id=1, inbox=config, to=Identity("slack", f"{sl.team}:U0CUSTOMER"), text="Hi!"
    )
    result = await send(out)
    [opened] = slack.matching("/conversations.open")
    assert slack.args(opened)["users"] == "U0CUSTOMER"
    post_args = slack.args(slack.posts()[-1])
    assert post_args["channel"].startswith("D") and "thread_ts" not in post_args
    assert result.provider_id == f"{post_args['channel']}:{slack.posts()[-1]['ts']}"


async def test_reply_with_a_file_is_uploaded_into_the_thread_and_retries_skip_the_text(
    client, live_server, slack, outbound_worker
):
    import hashlib

    from hub.models import Attachment

    sl = await slack_inbox(live_server, slack)
    user = user_id()
    slack.add_user(user, "Wants Files")
    top = sl.event(user, "Send me the guide")
    await sl.deliver(top)
    conv_id = (await stored(sl.inbox.id, f"C0SUPPORT:{top['event']['ts']}")).conversation_id
    # Slack hiccups once on completing the upload: the retry uploads again but never repeats the text.
    slack.script_for["files.completeUploadExternal"] = [(500, {"ok": False, "error": "internal_error"}, {})]
    pdf = b"%PDF-1.7 guide"
    async with session_scope() as s:
        conv = await s.get(Conversation, conv_id)
        msg = await dispatch.queue_outbound(s, conv, text="Here it is", author_kind="agent")
        s.add(
            Attachment(
                message_id=msg.id,
                filename="guide.pdf",
                content_type="application/pdf",
                size=len(pdf),
                sha256=hashlib.sha256(pdf).hexdigest(),
                data=pdf,
            )
        )
    await dispatch.after_commit(msg, conv)
    sent = await wait_for(lambda: message_with_status(msg.id, "sent"))
    [text_post] = slack.posts()
    assert slack.args(text_post)["thread_ts"] == top["event"]["ts"]
    assert sent.provider_id == f"C0SUPPORT:{text_post['ts']}"
    completes = [r for r in slack.requests if r["path"].endswith("files.completeUploadExternal")]
    assert [c.get("scripted") for c in completes] == [500, None]
    final = slack.args(completes[-1])
    assert (final["channel_id"], final["thread_ts"]) == ("C0SUPPORT", top["event"]["ts"])
    uploaded = json.loads(final["files"])[0]["id"]
    assert slack.uploads[uploaded] == [pdf] and slack.upload_names[uploaded] == "guide.pdf"


async def test_profile_change_refreshes_the_cached_profile(client, live_server, slack):
    sl = await slack_inbox(live_server, slack)
    user = user_id()
    slack.add_user(user, "Old Name")
    await sl.deliver(sl.event(user, "one"))
    await sl.deliver(sl.event(user, "two"))
    assert len(slack.matching("/users.info")) == 1  # cached
    new_email = f"new-{secrets.token_hex(3)}@example.test"
    slack.add_user(user, "New Name", new_email)
    change = sl.event(user)
    change["event"] = {"type": "user_change", "user": {"id": user, "team_id": sl.team, "profile": {}}}
    assert (await sl.deliver(change)).json()["stored"] is False
    third = sl.event(user, "three")
    await sl.deliver(third)
    assert len(slack.matching("/users.info")) == 2
    msg = await stored(sl.inbox.id, f"C0SUPPORT:{third['event']['ts']}")
    conv = await conversation(msg.conversation_id)
    assert ("email", new_email) in await identities(conv.contact_id)
