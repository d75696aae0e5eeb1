"""POST /webhooks/email/{inbox}/raw on the in-process app: auth, limits, bad input, idempotency."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from sqlalchemy import func, select

from hub.db import session_scope
from hub.models import Message
from tests.channels.email import samples
from tests.channels.email.conftest import email_inbox


async def _count(inbox_id: int) -> int:
    async with session_scope() as s:
        return int(await s.scalar(select(func.count()).select_from(Message).where(Message.inbox_id == inbox_id)) or 0)


def _bearer(inbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {inbox.credentials['webhook_secret']}", "Content-Type": "message/rfc822"}


async def test_raw_message_stored_once_by_token_or_id(client):
    inbox = await email_inbox()
    raw = samples.simple(to=inbox.settings["address"])
    first = await client.post(f"/webhooks/email/{inbox.public_token}/raw", content=raw, headers=_bearer(inbox))
    assert first.status_code == 200, first.text
    assert first.json()["stored"] is True and first.json()["conversation_id"]
    again = await client.post(f"/webhooks/email/{inbox.id}/raw", content=raw, headers=_bearer(inbox))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["message_id"] == first.json()["message_id"]
    assert await _count(inbox.id) == 1


async def test_hmac_signature_is_accepted(client):
    inbox = await email_inbox()
    raw = samples.simple(to=inbox.settings["address"])
    sig = "sha256=" + hmac.new(inbox.credentials["webhook_secret"].encode(), raw, hashlib.sha256).hexdigest()
    ok = await client.post(f"/webhooks/email/{inbox.id}/raw", content=raw, headers={"X-Hub-Signature-256": sig})
    assert ok.status_code == 200
    bad = await client.post(
        f"/webhooks/email/{inbox.id}/raw", content=raw + b"tampered", headers={"X-Hub-Signature-256": sig}
    )
    assert bad.status_code == 403
    assert await _count(inbox.id) == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 403),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 403),
        ({"X-Hub-Signature-256": "sha256=00"}, 403),
    ],
)
async def test_bad_credentials_store_nothing(client, headers, status):
    inbox = await email_inbox()
    resp = await client.post(
        f"/webhooks/email/{inbox.id}/raw", content=samples.simple(to=inbox.settings["address"]), headers=headers
    )
    assert resp.status_code == status and resp.json()["detail"]
    assert await _count(inbox.id) == 0


async def test_inbox_without_secret_refuses(client):
    inbox = await email_inbox(credentials={"webhook_secret": None})
    resp = await client.post(
        f"/webhooks/email/{inbox.id}/raw", content=samples.simple(), headers={"Authorization": "Bearer anything"}
    )
    assert resp.status_code == 403 and "no webhook secret" in resp.json()["detail"]


async def test_unknown_or_foreign_inbox_is_404(client):
    resp = await client.post("/webhooks/email/no-such-inbox/raw", content=samples.simple())
    assert resp.status_code == 404
    from tests.factories import make_inbox

    sms = await make_inbox("sms", settings={}, credentials={"webhook_secret": "x"})
    resp = await client.post(
        f"/webhooks/email/{sms.id}/raw", content=samples.simple(), headers={"Authorization": "Bearer x"}
    )
    assert resp.status_code == 404


async def test_oversize_is_413(client):
    inbox = await email_inbox({"max_message_bytes": 4096})
    resp = await client.post(
        f"/webhooks/email/{inbox.id}/raw", content=samples.simple(body="b" * 8000), headers=_bearer(inbox)
    )
    assert resp.status_code == 413 and "4096" in resp.json()["detail"]
    assert await _count(inbox.id) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"", 400), (b"hello, this is not mail", 422), (b"Subject: nobody sent me\r\n\r\ntext", 422)],
)
async def test_bad_bodies_are_4xx_with_reason(client, body, status):
    inbox = await email_inbox()
    resp = await client.post(f"/webhooks/email/{inbox.id}/raw", content=body, headers=_bearer(inbox))
    assert resp.status_code == status and resp.json()["detail"]
    assert await _count(inbox.id) == 0


async def test_broken_mime_is_stored(client):
    inbox = await email_inbox()
    resp = await client.post(
        f"/webhooks/email/{inbox.id}/raw",
        content=samples.broken_mime(inbox.settings["address"]),
        headers=_bearer(inbox),
    )
    assert resp.status_code == 200 and resp.json()["stored"] is True


async def test_misconfigured_inbox_is_a_clear_error(client):
    from tests.factories import make_inbox

    inbox = await make_inbox("email", settings={"address": "broken"}, credentials={"webhook_secret": "s3"})
    resp = await client.post(
        f"/webhooks/email/{inbox.id}/raw", content=samples.simple(), headers={"Authorization": "Bearer s3"}
    )
    assert resp.status_code == 409 and "settings are invalid" in resp.json()["detail"]
