"""Bad input gets a clear 4xx with a reason and stores nothing; attachments download safely."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from hub.db import session_scope
from hub.inbound import InboundAttachment
from hub.models import Message
from tests.api.conftest import World, incoming


async def messages_in(conversation_id: int) -> int:
    async with session_scope() as s:
        return (
            await s.execute(select(func.count()).select_from(Message).where(Message.conversation_id == conversation_id))
        ).scalar_one()


async def test_malformed_json_and_wrong_types_are_400_with_a_reason(client: httpx.AsyncClient, world: World):
    url = f"/api/v1/conversations/{world.conversation_id}/messages"
    h = {**world.h("agent"), "content-type": "application/json"}
    before = await messages_in(world.conversation_id)
    resp = await client.post(url, content=b'{"text": "unterminated', headers=h)
    assert resp.status_code == 400 and "not valid JSON" in resp.json()["detail"]
    resp = await client.post(url, json={"text": 42}, headers=h)
    assert resp.status_code == 400
    assert "text" in resp.text  # names the field
    resp = await client.post(url, json=["not", "an", "object"], headers=h)
    assert resp.status_code == 400
    resp = await client.post(url, json={"text": "hi", "unknown_field": 1}, headers=h)
    assert resp.status_code == 400 and "unknown_field" in resp.text
    assert await messages_in(world.conversation_id) == before  # nothing stored
    resp = await client.get("/api/v1/conversations", params={"limit": 1000}, headers=h)
    assert resp.status_code == 400
    resp = await client.get("/api/v1/conversations", params={"inbox_id": "abc"}, headers=h)
    assert resp.status_code == 400
    resp = await client.get("/api/v1/conversations", params={"assignee": "someone"}, headers=h)
    assert resp.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/conversations/{big}",
        "/api/v1/conversations/{big}/messages",
        "/api/v1/contacts/{big}",
        "/api/v1/contacts/{big}/timeline",
        "/api/v1/inboxes/{big}",
        "/api/v1/users/{big}",
        "/api/v1/teams/{big}",
        "/api/v1/attachments/{big}",
    ],
)
async def test_unknown_ids_are_404(client: httpx.AsyncClient, world: World, path: str):
    resp = await client.get(path.format(big=2**61), headers=world.h("admin"))
    assert resp.status_code == 404 and "not found" in resp.json()["detail"]
    resp = await client.get(path.format(big=2**64), headers=world.h("admin"))  # beyond any id: refused, not a 500
    assert resp.status_code in (400, 404)
    resp = await client.get(path.format(big=0), headers=world.h("admin"))
    assert resp.status_code in (400, 404)


async def test_oversize_body_is_413(client: httpx.AsyncClient, world: World, stack):
    url = f"/api/v1/conversations/{world.conversation_id}/notes"
    big = "x" * (stack.settings.max_body_bytes + 10)
    before = await messages_in(world.conversation_id)
    resp = await client.post(url, json={"text": big}, headers=world.h("agent"))
    assert resp.status_code == 413
    assert await messages_in(world.conversation_id) == before


async def test_attachment_download_headers_and_scope(client: httpx.AsyncClient, world: World):
    conv_id, _, message_id = await incoming(
        world.inbox,
        attachments=[
            InboundAttachment("résumé <1>.html", "text/html", data=b"<script>alert(1)</script>"),
            InboundAttachment("odd.bin", "not a\r\nvalid type", data=b"\x00\x01"),
        ],
    )
    page = (await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=world.h("agent"))).json()
    mine = next(i for i in page["items"] if i["type"] == "message" and i["id"] == message_id)
    first, second = mine["attachments"]
    resp = await client.get(first["url"], headers=world.h("agent"))
    assert resp.status_code == 200 and resp.content == b"<script>alert(1)</script>"
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%3C1%3E.html" in resp.headers["content-disposition"]
    resp = await client.get(second["url"], headers=world.h("agent"))
    assert resp.headers["content-type"] == "application/octet-stream" and resp.content == b"\x00\x01"
    resp = await client.get(first["url"], headers=world.h("outsider"))
    assert resp.status_code == 404


async def test_forged_cursors_are_400(client: httpx.AsyncClient, world: World):
    import base64
    import json

    def forge(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    h = world.h("agent")
    conv = f"/api/v1/conversations/{world.conversation_id}/messages"
    for url, cursor in [
        ("/api/v1/conversations", forge(["2025-01-01T00:00:00", 5])),  # no time zone
        ("/api/v1/conversations", forge(["yesterday", 5])),
        ("/api/v1/conversations", forge(["2025-01-01T00:00:00Z", 2**70])),
        ("/api/v1/contacts", forge(["x"])),
        ("/api/v1/contacts", forge([2**70])),
        (conv, forge(["desc", 2**70, None])),
        (conv, forge({"a": 1})),
        (conv, "%%%"),
    ]:
        resp = await client.get(url, params={"cursor": cursor}, headers=h)
        assert resp.status_code == 400, (url, cursor, resp.text)


async def test_out_of_range_numbers_and_odd_zones_are_400(client: httpx.AsyncClient, world: World):
    conv = f"/api/v1/conversations/{world.conversation_id}"
    for body in ({"assignee_id": 2**70}, {"team_id": 2**70}, {"assignee_id": 0}):
        assert (await client.patch(conv, json=body, headers=world.h("agent"))).status_code == 400
    inbox = f"/api/v1/inboxes/{world.inbox.id}"
    for zone in ("America", "../../etc/passwd", ""):
        resp = await client.patch(inbox, json={"time_zone": zone}, headers=world.h("admin"))
        assert resp.status_code == 400 and "time zone" in resp.json()["detail"]


async def test_nul_characters_are_refused_not_a_database_error(client: httpx.AsyncClient, world: World):
    h = world.h("admin")
    for method, url, kwargs in [
        ("PATCH", f"/api/v1/contacts/{world.contact_id}", {"json": {"name": "a\x00b"}}),
        ("GET", "/api/v1/conversations", {"params": {"q": "a\x00b"}}),
        ("POST", f"/api/v1/conversations/{world.conversation_id}/notes", {"json": {"text": "a\x00b"}}),
    ]:
        resp = await client.request(method, url, headers=h, **kwargs)
        assert resp.status_code == 400 and "NUL" in resp.json()["detail"], (method, url, resp.text)
    # a literal backslash-u-0000 typed by a person is just text
    resp = await client.post(
        f"/api/v1/conversations/{world.conversation_id}/notes", json={"text": "see \\u0000"}, headers=h
    )
    assert resp.status_code == 201 and resp.json()["text"] == "see \\u0000"
