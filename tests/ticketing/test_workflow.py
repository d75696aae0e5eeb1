"""Status, priority, tags, snooze with a scheduled wake-up, merge, and routing rules."""

from datetime import timedelta

from sqlalchemy import select

from hub import events
from hub.db import session_scope, utcnow
from hub.models import Event, Message
from tests.factories import auth_headers, make_inbox, make_team, make_user
from tests.ticketing.conftest import conversation, eventually, inbound
from ticketing import service
from ticketing.service import Actor


async def kinds(conversation_id):
    async with session_scope() as session:
        return list(
            (
                await session.execute(
                    select(Event.kind).where(Event.conversation_id == conversation_id).order_by(Event.id)
                )
            ).scalars()
        )


async def test_status_priority_tags_write_events(client, jobs):
    inbox = await make_inbox()
    res = await inbound(inbox, "ann")
    agent = await make_user("agent", inbox_ids=[inbox.id])
    actor = Actor("agent", agent.id)
    assert await service.update(res.conversation_id, actor, status="pending", priority="high", add_tags=["Billing "])
    await events.drain()  # ticketing reacts in the background
    conv = await conversation(res.conversation_id)
    assert (conv.status, conv.priority) == ("pending", "high")
    recorded = await kinds(conv.id)
    # the same kind the kernel API records for a tag change, so timelines and reports read one name
    assert {"conversation.status_changed", "conversation.priority_changed", "conversation.tagged"} <= set(recorded)
    assert "conversation.tags_changed" not in recorded
    # a new customer message reopens it (kernel), then resolve and close
    await inbound(inbox, "ann", "still there?")
    assert (await conversation(conv.id)).status == "open"
    await service.update(conv.id, actor, status="resolved")
    await events.drain()  # ticketing reacts in the background
    assert (await conversation(conv.id)).resolved_at is not None
    await service.update(conv.id, actor, status="closed")
    await events.drain()  # ticketing reacts in the background
    assert (await conversation(conv.id)).status == "closed"


async def test_snooze_wakes_up_by_scheduled_job(client, jobs):
    inbox = await make_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    res = await inbound(inbox, "bob")
    headers = await auth_headers(agent)
    until = (utcnow() + timedelta(seconds=1.2)).isoformat()
    resp = await client.post(
        f"/api/v1/conversations/{res.conversation_id}/snooze", json={"until": until}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    assert (await conversation(res.conversation_id)).status == "snoozed"

    async def woke():
        return (await conversation(res.conversation_id)).status == "open"

    await eventually(woke)
    bad = await client.post(
        f"/api/v1/conversations/{res.conversation_id}/snooze",
        json={"until": (utcnow() - timedelta(hours=1)).isoformat()},
        headers=headers,
    )
    assert bad.status_code == 400 and "future" in bad.json()["detail"]


async def test_merge_moves_messages_and_closes_other(client, jobs):
    inbox = await make_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    headers = await auth_headers(agent)
    first = await inbound(inbox, "cara", "one", thread_key="t1")
    second = await inbound(inbox, "cara", "two", thread_key="t2")
    other_contact = await inbound(inbox, "dan", "three")
    assert first.conversation_id != second.conversation_id
    await service.update(second.conversation_id, Actor("agent", agent.id), add_tags=["vip"])
    await events.drain()  # ticketing reacts in the background
    resp = await client.post(
        f"/api/v1/conversations/{first.conversation_id}/merge",
        json={"other_id": second.conversation_id},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["messages_moved"] == 1
    async with session_scope() as session:
        texts = list(
            (
                await session.execute(
                    select(Message.text).where(Message.conversation_id == first.conversation_id).order_by(Message.id)
                )
            ).scalars()
        )
    assert texts == ["one", "two"]
    assert (await conversation(second.conversation_id)).status == "closed"
    assert "conversation.merged" in await kinds(first.conversation_id)
    assert "conversation.merged_into" in await kinds(second.conversation_id)
    assert "vip" in await service_tags(first.conversation_id)
    refused = await client.post(
        f"/api/v1/conversations/{first.conversation_id}/merge",
        json={"other_id": other_contact.conversation_id},
        headers=headers,
    )
    assert refused.status_code == 400 and "same contact" in refused.json()["detail"]


async def service_tags(conversation_id):
    async with session_scope() as session:
        return await service.tags_of(session, conversation_id)


async def test_routing_rules_on_creation_and_on_demand(client, jobs):
    inbox = await make_inbox()
    team = await make_team()
    admin = await make_user("admin")
    headers = await auth_headers(admin)
    marker = f"refund-{inbox.id}"
    rule = {
        "name": "refunds to billing",
        "position": 1,
        "conditions": [
            {"field": "inbox_id", "op": "eq", "value": inbox.id},
            {"field": "text", "op": "regex", "value": rf"\b{marker}\b"},
        ],
        "actions": [
            {"type": "assign_team", "team_id": team.id},
            {"type": "set_priority", "priority": "urgent"},
            {"type": "add_tag", "tag": "refund"},
        ],
    }
    resp = await client.post("/api/v1/routing-rules/", json=rule, headers=headers)
    assert resp.status_code == 201, resp.text
    res = await inbound(inbox, "eve", f"I want a {marker} please")
    conv = await conversation(res.conversation_id)
    assert (conv.team_id, conv.priority) == (team.id, "urgent")
    assert await service_tags(conv.id) == ["refund"]
    # a conversation that did not match at first, routed on demand after a new message
    plain = await inbound(inbox, "fay", "hello")
    assert (await conversation(plain.conversation_id)).team_id is None
    await inbound(inbox, "fay", f"actually a {marker}")
    resp = await client.post(f"/api/v1/routing-rules/apply/{plain.conversation_id}", headers=headers)
    assert resp.status_code == 200 and resp.json()["fired"]
    assert (await conversation(plain.conversation_id)).team_id == team.id
    await client.delete(f"/api/v1/routing-rules/{resp.json()['fired'][0]['rule_id']}", headers=headers)


async def test_routing_rule_conditions_contact_and_time(client, jobs):
    inbox = await make_inbox()
    admin = await make_user("admin")
    headers = await auth_headers(admin)
    rule = {
        "name": "always-on window",
        "conditions": [
            {"field": "inbox_id", "op": "eq", "value": inbox.id},
            {"field": "contact.name", "op": "contains", "value": "gold"},
            {"field": "time", "op": "between", "value": ["00:00", "23:59:59.999999"], "tz": "Asia/Tokyo"},
            {"field": "weekday", "op": "in", "value": [0, 1, 2, 3, 4, 5, 6], "tz": "Asia/Tokyo"},
        ],
        "actions": [{"type": "add_tag", "tag": "gold"}],
    }
    resp = await client.post("/api/v1/routing-rules/", json=rule, headers=headers)
    assert resp.status_code == 201, resp.text
    hit = await inbound(inbox, "gina", "hi", sender_name="Gina Gold")
    miss = await inbound(inbox, "hal", "hi", sender_name="Hal Silver")
    assert await service_tags(hit.conversation_id) == ["gold"]
    assert await service_tags(miss.conversation_id) == []
    await client.delete(f"/api/v1/routing-rules/{resp.json()['id']}", headers=headers)


async def test_routing_rule_validation_and_permissions(client):
    admin = await make_user("admin")
    agent = await make_user("agent")
    bad = await client.post(
        "/api/v1/routing-rules/",
        json={
            "name": "x",
            "conditions": [{"field": "text", "op": "regex", "value": "("}],
            "actions": [{"type": "add_tag", "tag": "a"}],
        },
        headers=await auth_headers(admin),
    )
    assert bad.status_code == 400 and "regex" in bad.json()["detail"]
    bad = await client.post(
        "/api/v1/routing-rules/",
        json={
            "name": "x",
            "conditions": [{"field": "nope", "op": "eq", "value": 1}],
            "actions": [{"type": "add_tag", "tag": "a"}],
        },
        headers=await auth_headers(admin),
    )
    assert bad.status_code == 400 and "unknown field" in bad.json()["detail"]
    denied = await client.get("/api/v1/routing-rules/", headers=await auth_headers(agent))
    assert denied.status_code == 403


async def test_openapi_lists_ticketing_routes(client):
    resp = await client.get("/schema/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for path in (
        "/api/v1/routing-rules",
        "/api/v1/conversations/{conversation_id}/merge",
        "/api/v1/macros/{macro_id}/run/{conversation_id}",
        "/api/v1/reports/summary",
        "/api/v1/canned-responses",
        "/api/v1/sla-policies",
    ):
        assert any(p.rstrip("/") == path for p in paths), path
