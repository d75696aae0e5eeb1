"""The generic API channel's webhook: every bad input gets a clear 4xx and stores nothing."""

from __future__ import annotations

import base64

import httpx
from sqlalchemy import func, select

from hub.db import session_scope
from hub.models import Attachment, Message
from tests.factories import unique
from tests.kernel.helpers import api_inbox, message_payload, signed


async def _messages(inbox_id: int) -> int:
    async with session_scope() as s:
        return (await s.execute(select(func.count(Message.id)).where(Message.inbox_id == inbox_id))).scalar_one()


async def test_end_to_end_over_a_real_server(client, live_server):
    inbox, secret = await api_inbox()
    payload = message_payload(
        unique("cust"),
        "Where is my order?",
        attachments=[
            {"filename": "r.txt", "content_type": "text/plain", "data_base64": base64.b64encode(b"receipt").decode()}
        ],
    )
    body, headers = signed(secret, payload)
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        first = await http.post(f"/webhooks/api/{inbox.public_token}/messages", content=body, headers=headers)
        again = await http.post(f"/webhooks/api/{inbox.public_token}/messages", content=body, headers=headers)
    assert first.status_code == 200 and again.status_code == 200
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert first.json()["message_id"] == again.json()["message_id"]
    assert await _messages(inbox.id) == 1
    async with session_scope() as s:
        att = (
            await s.execute(select(Attachment).where(Attachment.message_id == first.json()["message_id"]))
        ).scalar_one()
        assert att.size == 7


async def test_bad_input_is_refused_and_nothing_stored(client):
    inbox, secret = await api_inbox()
    url = f"/webhooks/api/{inbox.public_token}/messages"
    good, headers = signed(secret, message_payload(unique("c")))

    resp = await client.post(url, content=good, headers={**headers, "x-hub-signature": "sha256=00"})
    assert resp.status_code == 403 and "X-Hub-Signature" in resp.json()["detail"]

    resp = await client.post(url, content=good, headers={"content-type": "application/json"})
    assert resp.status_code == 403

    resp = await client.post("/webhooks/api/no-such-inbox/messages", content=good, headers=headers)
    assert resp.status_code == 404 and "inbox" in resp.json()["detail"]

    bad, bad_headers = b"{not json", {"x-hub-signature": ""}
    from channels.api.signing import signature

    bad_headers["x-hub-signature"] = signature(secret, bad)
    resp = await client.post(url, content=bad, headers=bad_headers)
    assert resp.status_code == 400 and "JSON" in resp.json()["detail"]

    wrong, wrong_headers = signed(secret, {"id": "1", "sender": {"id": 5}, "text": "x"})
    resp = await client.post(url, content=wrong, headers=wrong_headers)
    assert resp.status_code == 400 and "format" in resp.json()["detail"]

    huge, huge_headers = signed(secret, message_payload(unique("c"), "x" * 2_000_000))
    resp = await client.post(url, content=huge, headers=huge_headers)
    assert resp.status_code == 413

    assert await _messages(inbox.id) == 0
