"""Canned responses with safe variables, macros, and automation rules with signed webhooks."""

import asyncio
import hashlib
import hmac
import json

from aiohttp import web
from sqlalchemy import select

from hub.db import session_scope
from hub.models import Message
from tests.factories import auth_headers, make_inbox, make_team, make_user, unique
from tests.stacks import free_port
from tests.ticketing.conftest import conversation, eventually, inbound
from ticketing.canned import render


def test_render_is_a_plain_lookup():
    values = {"contact.name": "Ann <b>", "agent.name": "Zed"}
    assert render("Hi {{ contact.name }}, {{agent.name}} here", values) == "Hi Ann <b>, Zed here"
    assert render("{{contact.name}}", values, as_html=True) == "Ann &lt;b&gt;"
    assert render("{{ contact.__class__ }}{{ config.secret }}{% raw %}", values) == "{% raw %}"


async def test_canned_search_and_render(client, jobs):
    inbox = await make_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id], name="Alice Agent")
    manager = await make_user("manager")
    shortcut = unique("thanks")
    resp = await client.post(
        "/api/v1/canned-responses/",
        json={
            "shortcut": shortcut,
            "title": "Thanks",
            "body": "Thanks {{contact.first_name}}! {{agent.name}}, #{{conversation.id}}",
        },
        headers=await auth_headers(manager),
    )
    assert resp.status_code == 201, resp.text
    bad = await client.post(
        "/api/v1/canned-responses/",
        json={"shortcut": unique("x"), "body": "{{contact.password}}"},
        headers=await auth_headers(manager),
    )
    assert bad.status_code == 400 and "contact.password" in bad.json()["detail"]
    res = await inbound(inbox, "kim", "hi", sender_name="Kim Lee")
    found = await client.get(
        "/api/v1/canned-responses/",
        params={"q": shortcut, "conversation_id": res.conversation_id},
        headers=await auth_headers(agent),
    )
    assert found.status_code == 200
    [item] = found.json()
    assert item["rendered"] == f"Thanks Kim! Alice Agent, #{res.conversation_id}"


async def test_macro_runs_several_actions(client, jobs):
    inbox = await make_inbox()
    team = await make_team()
    agent = await make_user("agent", inbox_ids=[inbox.id], name="Max")
    manager = await make_user("manager")
    resp = await client.post(
        "/api/v1/macros/",
        json={
            "name": "escalate",
            "actions": [
                {"type": "assign_team", "team_id": team.id},
                {"type": "set_priority", "priority": "high"},
                {"type": "add_tag", "tag": "escalated"},
                {"type": "send_reply", "text": "Hi {{contact.name}}, {{agent.name}} escalated this."},
                {"type": "add_note", "text": "escalated by macro"},
                {"type": "set_status", "status": "pending"},
            ],
        },
        headers=await auth_headers(manager),
    )
    assert resp.status_code == 201, resp.text
    res = await inbound(inbox, "lou", "help", sender_name="Lou")
    run = await client.post(
        f"/api/v1/macros/{resp.json()['id']}/run/{res.conversation_id}", headers=await auth_headers(agent)
    )
    assert run.status_code == 200, run.text
    conv = await conversation(res.conversation_id)
    assert (conv.team_id, conv.priority, conv.status) == (team.id, "high", "pending")
    async with session_scope() as session:
        msgs = (
            await session.execute(
                select(Message.direction, Message.text).where(Message.conversation_id == conv.id).order_by(Message.id)
            )
        ).all()
    assert ("out", "Hi Lou, Max escalated this.") in msgs
    assert ("note", "escalated by macro") in msgs
    other_agent = await make_user("agent")
    hidden = await client.post(
        f"/api/v1/macros/{resp.json()['id']}/run/{res.conversation_id}", headers=await auth_headers(other_agent)
    )
    assert hidden.status_code == 404


class Receiver:
    """A local HTTP server that records webhook requests; fails the first `fail` of them with 500."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.port = free_port()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        if len(self.requests) <= self.fail:
            return web.Response(status=500, text="try later")
        return web.Response(status=204)

    async def __aenter__(self) -> "Receiver":
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


async def test_automation_webhook_signed_and_retried(client, jobs):
    inbox = await make_inbox()
    admin = await make_user("admin")
    secret = "s3cret-" + unique()
    async with Receiver(fail=1) as receiver:
        resp = await client.post(
            "/api/v1/automation-rules/",
            json={
                "name": "urgent words",
                "event": "message.created",
                "conditions": [
                    {"field": "inbox_id", "op": "eq", "value": inbox.id},
                    {"field": "message.direction", "op": "eq", "value": "in"},
                    {"field": "text", "op": "contains", "value": "urgent"},
                ],
                "actions": [
                    {"type": "set_priority", "priority": "urgent"},
                    {"type": "add_tag", "tag": "auto-urgent"},
                    {"type": "webhook", "url": receiver.url, "secret": secret},
                ],
            },
            headers=await auth_headers(admin),
        )
        assert resp.status_code == 201, resp.text
        rule = resp.json()
        assert all("secret" not in a for a in rule["actions"])
        res = await inbound(inbox, "mo", "this is URGENT please")
        await inbound(inbox, "mo", "calm message")
        assert (await conversation(res.conversation_id)).priority == "urgent"

        async def two_requests():
            return len(receiver.requests) >= 2

        await eventually(two_requests, timeout=20)
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == 2  # one failure, one success; the calm message sent nothing
        for headers, body in receiver.requests:
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["X-Hub-Signature-256"], expected)
        assert receiver.requests[0][1] == receiver.requests[1][1]
        assert receiver.requests[0][0]["X-Hub-Delivery"] == receiver.requests[1][0]["X-Hub-Delivery"]
        payload = json.loads(receiver.requests[1][1])
        assert payload["event"] == "message.created"
        assert payload["conversation"]["id"] == res.conversation_id
        assert payload["conversation"]["priority"] == "urgent"

        async def delivered():
            got = await client.get(
                f"/api/v1/automation-rules/{rule['id']}/deliveries", headers=await auth_headers(admin)
            )
            rows = got.json()
            return rows and rows[0]["state"] == "delivered" and rows[0]["attempts"] == 2

        await eventually(delivered)
    await client.delete(f"/api/v1/automation-rules/{rule['id']}", headers=await auth_headers(admin))


async def test_automation_rule_validation(client):
    admin = await make_user("admin")
    manager = await make_user("manager")
    body = {"name": "x", "event": "message.created", "actions": [{"type": "webhook", "url": "ftp://nope"}]}
    resp = await client.post("/api/v1/automation-rules/", json=body, headers=await auth_headers(admin))
    assert resp.status_code == 400 and "http" in resp.json()["detail"]
    resp = await client.post(
        "/api/v1/automation-rules/", json={**body, "event": "moon.landed"}, headers=await auth_headers(admin)
    )
    assert resp.status_code == 400
    resp = await client.post("/api/v1/automation-rules/", json=body, headers=await auth_headers(manager))
    assert resp.status_code == 403
    resp = await client.post(
        "/api/v1/macros/",
        json={"name": "m", "actions": [{"type": "webhook", "url": "http://x"}]},
        headers=await auth_headers(admin),
    )
    assert resp.status_code == 400 and "automation" in resp.json()["detail"]


async def test_canned_and_macro_updates(client):
    manager = await make_user("manager")
    headers = await auth_headers(manager)
    created = await client.post(
        "/api/v1/canned-responses/", json={"shortcut": unique("bye"), "body": "Bye"}, headers=headers
    )
    cid = created.json()["id"]
    resp = await client.patch(f"/api/v1/canned-responses/{cid}", json={"body": "Bye {{contact.name}}"}, headers=headers)
    assert resp.status_code == 200 and resp.json()["body"] == "Bye {{contact.name}}"
    resp = await client.patch(f"/api/v1/canned-responses/{cid}", json={"body": "{{ os.system }}"}, headers=headers)
    assert resp.status_code == 400
    macro = await client.post(
        "/api/v1/macros/", json={"name": "m", "actions": [{"type": "add_tag", "tag": "a"}]}, headers=headers
    )
    resp = await client.put(
        f"/api/v1/macros/{macro.json()['id']}",
        json={"name": "m2", "actions": [{"type": "set_priority", "priority": "low"}]},
        headers=headers,
    )
    assert resp.status_code == 200 and resp.json()["name"] == "m2"
    assert (await client.delete(f"/api/v1/canned-responses/{cid}", headers=headers)).status_code == 204


async def test_automation_rule_can_be_switched_off(client, jobs):
    inbox = await make_inbox()
    admin = await make_user("admin")
    headers = await auth_headers(admin)
    rule = await client.post(
        "/api/v1/automation-rules/",
        json={
            "name": "tag new",
            "event": "conversation.created",
            "conditions": [{"field": "inbox_id", "op": "eq", "value": inbox.id}],
            "actions": [{"type": "add_tag", "tag": "new"}],
        },
        headers=headers,
    )
    assert rule.status_code == 201, rule.text
    first = await inbound(inbox, "on1")
    off = await client.patch(f"/api/v1/automation-rules/{rule.json()['id']}", json={"enabled": False}, headers=headers)
    assert off.status_code == 200 and off.json()["enabled"] is False
    second = await inbound(inbox, "on2")
    from ticketing import service

    async with session_scope() as session:
        assert await service.tags_of(session, first.conversation_id) == ["new"]
        assert await service.tags_of(session, second.conversation_id) == []
