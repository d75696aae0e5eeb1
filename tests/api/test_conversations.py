"""Conversations: the filtered list with its cursor, changes recorded as events, replies, notes, timeline."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from hub import events
from hub.db import session_scope
from hub.events import DomainEvent
from hub.models import Event, Message
from tests.api.conftest import World, incoming
from tests.factories import make_team, make_user, unique


async def walk(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: object) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = await client.get(url, params=query, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


async def test_list_is_scoped_filtered_and_paginated(client: httpx.AsyncClient, world: World):
    more = [await incoming(world.inbox, text=f"msg {i}", subject=f"subject {i}") for i in range(6)]
    await incoming(world.other_inbox, text="elsewhere")
    ids = {world.conversation_id, *(c for c, _, _ in more)}

    mine = await walk(client, "/api/v1/conversations", world.h("agent"), limit=2)
    assert {c["id"] for c in mine} == ids  # the agent sees exactly their inbox
    assert len(mine) == len({c["id"] for c in mine})  # no duplicates across pages
    keys = [(c["last_activity_at"], c["id"]) for c in mine]
    assert keys == sorted(keys, reverse=True)
    assert all(c["contact_name"] for c in mine)

    by_inbox = await walk(client, "/api/v1/conversations", world.h("admin"), inbox_id=world.inbox.id, limit=3)
    assert {c["id"] for c in by_inbox} == ids

    hits = await walk(client, "/api/v1/conversations", world.h("agent"), q="subject 3")
    assert [c["id"] for c in hits] == [more[3][0]]
    hits = await walk(client, "/api/v1/conversations", world.h("agent"), q="100%_")
    assert hits == []

    contact = await walk(client, "/api/v1/conversations", world.h("agent"), contact_id=more[0][1])
    assert [c["id"] for c in contact] == [more[0][0]]


async def test_filters_by_status_assignee_team_and_tag(client: httpx.AsyncClient, world: World):
    team = await make_team()
    conv = world.conversation_id
    resp = await client.patch(
        f"/api/v1/conversations/{conv}",
        json={"assignee_id": world.agent.id, "team_id": team.id, "tags": {"add": ["VIP ", "billing"]}},
        headers=world.h("agent"),
    )
    assert resp.status_code == 200, resp.text
    h = world.h("agent")
    base = {"inbox_id": world.inbox.id}
    assert [c["id"] for c in await walk(client, "/api/v1/conversations", h, assignee="me", **base)] == [conv]
    assert conv not in {c["id"] for c in await walk(client, "/api/v1/conversations", h, assignee="none", **base)}
    assert [c["id"] for c in await walk(client, "/api/v1/conversations", h, assignee_id=world.agent.id)] == [conv]
    assert [c["id"] for c in await walk(client, "/api/v1/conversations", h, team_id=team.id)] == [conv]
    assert [c["id"] for c in await walk(client, "/api/v1/conversations", h, tag="Vip", **base)] == [conv]
    assert [c["id"] for c in await walk(client, "/api/v1/conversations", h, status="open,pending", **base)] == [conv]
    assert await walk(client, "/api/v1/conversations", h, status="resolved", **base) == []
    resp = await client.get("/api/v1/conversations", params={"status": "bogus"}, headers=h)
    assert resp.status_code == 400 and "bogus" in resp.json()["detail"]
    resp = await client.get("/api/v1/conversations", params={"cursor": "not-a-cursor"}, headers=h)
    assert resp.status_code == 400 and "cursor" in resp.json()["detail"]


async def test_patch_records_events_and_announces_after_commit(client: httpx.AsyncClient, world: World):
    seen: list[DomainEvent] = []

    async def listener(event: DomainEvent) -> None:
        if event.conversation_id == world.conversation_id:
            seen.append(event)

    events.subscribe("conversation.updated", listener)
    url = f"/api/v1/conversations/{world.conversation_id}"
    resp = await client.patch(
        url,
        json={"status": "pending", "priority": "high", "assignee_id": world.agent.id, "tags": {"set": ["a", "b"]}},
        headers=world.h("agent"),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["status"], body["priority"], body["assignee_id"], body["tags"]) == (
        "pending",
        "high",
        world.agent.id,
        ["a", "b"],
    )
    resp = await client.patch(url, json={"tags": {"remove": ["a"]}, "assignee_id": None}, headers=world.h("agent"))
    assert resp.json()["tags"] == ["b"] and resp.json()["assignee_id"] is None
    resp = await client.patch(url, json={"snoozed_until": "2030-01-01T09:00:00Z"}, headers=world.h("agent"))
    assert resp.json()["status"] == "snoozed" and resp.json()["snoozed_until"].startswith("2030-01-01")
    resp = await client.patch(url, json={"status": "resolved"}, headers=world.h("agent"))
    assert resp.json()["snoozed_until"] is None and resp.json()["resolved_at"]
    # no change: no event, no announcement
    assert (await client.patch(url, json={"status": "resolved"}, headers=world.h("agent"))).status_code == 200

    async with session_scope() as s:
        kinds = [
            (e.kind, e.actor_id)
            for e in (
                await s.execute(select(Event).where(Event.conversation_id == world.conversation_id).order_by(Event.id))
            ).scalars()
        ]
    assert [k for k, _ in kinds] == [
        "conversation.created",
        "conversation.status_changed",
        "conversation.priority_changed",
        "conversation.assigned",
        "conversation.tagged",
        "conversation.assigned",
        "conversation.tagged",
        "conversation.status_changed",
        "conversation.status_changed",
    ]
    assert all(actor == world.agent.id for k, actor in kinds[1:])
    for _ in range(50):
        if len(seen) >= 4:
            break
        await asyncio.sleep(0.01)
    assert [e.data["changed"] for e in seen] == [
        ["status", "priority", "assignee_id", "tags"],
        ["assignee_id", "tags"],
        ["status"],
        ["status"],
    ]


async def test_patch_rejects_what_cannot_be_done(client: httpx.AsyncClient, world: World):
    url = f"/api/v1/conversations/{world.conversation_id}"
    h = world.h("agent")
    resp = await client.patch(url, json={"assignee_id": world.outsider.id}, headers=h)
    assert resp.status_code == 400 and "not a member" in resp.json()["detail"]
    resp = await client.patch(url, json={"team_id": 2**61}, headers=h)
    assert resp.status_code == 400 and "team" in resp.json()["detail"]
    resp = await client.patch(url, json={"status": "bogus"}, headers=h)
    assert resp.status_code == 400
    resp = await client.patch(url, json={"snoozed_until": "2030-01-01T09:00:00"}, headers=h)  # no time zone
    assert resp.status_code == 400
    resp = await client.patch(url, json={"status": "open", "snoozed_until": "2030-01-01T09:00:00Z"}, headers=h)
    assert resp.status_code == 400
    resp = await client.patch(url, json={"snoozed_until": "2001-01-01T09:00:00Z"}, headers=h)  # the past
    assert resp.status_code == 400 and "future" in resp.json()["detail"]
    resp = await client.patch(url, json={"tags": {"add": ["   "]}}, headers=h)
    assert resp.status_code == 400
    resp = await client.patch(url, json={"tags": {"set": ["x"], "add": ["y"]}}, headers=h)
    assert resp.status_code == 400
    resp = await client.patch(url, json={"colour": "red"}, headers=h)
    assert resp.status_code == 400
    # a manager (not a member of anything) may be assigned anywhere
    resp = await client.patch(url, json={"assignee_id": world.manager.id}, headers=h)
    assert resp.status_code == 200


async def test_reply_is_queued_then_delivered_and_note_stays_private(client: httpx.AsyncClient, world: World):
    url = f"/api/v1/conversations/{world.conversation_id}"
    resp = await client.post(
        f"{url}/messages", json={"html": "<p>Hi <script>x()</script><b>there</b></p>"}, headers=world.h("agent")
    )
    assert resp.status_code == 201, resp.text
    reply = resp.json()
    assert reply["direction"] == "out" and reply["author_id"] == world.agent.id and reply["type"] == "message"
    assert "script" not in (reply["html"] or "") and reply["text"].startswith("Hi")
    resp = await client.post(f"{url}/notes", json={"text": "internal only"}, headers=world.h("agent"))
    assert resp.status_code == 201 and resp.json()["direction"] == "note"
    resp = await client.post(f"{url}/messages", json={"text": "   "}, headers=world.h("agent"))
    assert resp.status_code == 400 and "empty" in resp.json()["detail"]
    # the API channel with no callback URL delivers into the hub: the reply leaves "queued"
    for _ in range(200):
        async with session_scope() as s:
            status = (await s.execute(select(Message.status).where(Message.id == reply["id"]))).scalar_one()
        if status != "queued" and status != "sending":
            break
        await asyncio.sleep(0.02)
    assert status in ("sent", "delivered"), status
    conv = (await client.get(url, headers=world.h("agent"))).json()
    assert conv["first_response_at"] is not None and conv["message_count"] == 3


async def test_timeline_merges_messages_and_events_with_a_stable_cursor(client: httpx.AsyncClient, world: World):
    url = f"/api/v1/conversations/{world.conversation_id}"
    h = world.h("agent")
    for i in range(4):
        await client.post(f"{url}/notes", json={"text": f"note {i}"}, headers=h)
        await client.patch(url, json={"priority": ["low", "high"][i % 2]}, headers=h)
    newest_first = await walk(client, f"{url}/messages", h, limit=3)
    oldest_first = await walk(client, f"{url}/messages", h, limit=2, order="asc")
    assert [(i["type"], i["id"]) for i in newest_first] == [(i["type"], i["id"]) for i in reversed(oldest_first)]
    assert sum(i["type"] == "message" for i in newest_first) == 5
    assert sum(i["type"] == "event" for i in newest_first) == 5  # created + 4 priority changes
    assert newest_first[-1]["type"] == "event" or newest_first[-1]["direction"] == "in"
    times = [i["created_at"] for i in oldest_first]
    assert times == sorted(times)
    # a cursor from one order is refused by the other
    page = (await client.get(f"{url}/messages", params={"limit": 1}, headers=h)).json()
    resp = await client.get(f"{url}/messages", params={"cursor": page["next_cursor"], "order": "asc"}, headers=h)
    assert resp.status_code == 400


async def test_other_inbox_answers_not_found(client: httpx.AsyncClient, world: World):
    url = f"/api/v1/conversations/{world.conversation_id}"
    for method, path, body in [
        ("GET", url, None),
        ("PATCH", url, {"status": "open"}),
        ("GET", f"{url}/messages", None),
        ("POST", f"{url}/messages", {"text": "x"}),
        ("POST", f"{url}/notes", {"text": "x"}),
    ]:
        resp = await client.request(method, path, json=body, headers=world.h("outsider"))
        assert resp.status_code == 404, (method, path, resp.text)
        assert resp.json()["detail"] == "Conversation not found"
    resp = await client.get("/api/v1/conversations/999999999", headers=world.h("admin"))
    assert resp.status_code == 404 and resp.json()["detail"] == "Conversation not found"


async def test_agent_without_inboxes_sees_nothing(client: httpx.AsyncClient, world: World):
    lonely = await make_user("agent", name=unique("lonely"))
    from tests.factories import auth_headers

    h = await auth_headers(lonely)
    assert (await client.get("/api/v1/conversations", headers=h)).json() == {"items": [], "next_cursor": None}
    assert (await client.get("/api/v1/contacts", headers=h)).json() == {"items": [], "next_cursor": None}
    assert (await client.get("/api/v1/inboxes", headers=h)).json() == []


async def test_a_retried_reply_with_the_same_idempotency_key_is_stored_once(client: httpx.AsyncClient, world: World):
    url = f"/api/v1/conversations/{world.conversation_id}/messages"
    h = {**world.h("agent"), "Idempotency-Key": unique("retry")}
    first, second = await asyncio.gather(
        client.post(url, json={"text": "once"}, headers=h), client.post(url, json={"text": "once"}, headers=h)
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    other = await client.post(url, json={"text": "once"}, headers={**h, "Idempotency-Key": unique("other")})
    assert other.json()["id"] != first.json()["id"]
    async with session_scope() as s:
        texts = (await s.execute(select(Message.text).where(Message.conversation_id == world.conversation_id))).all()
    assert [t for (t,) in texts].count("once") == 2


async def test_agent_with_several_inboxes_pages_through_all_of_them(client: httpx.AsyncClient, world: World):
    from tests.factories import auth_headers, make_inbox

    third = await make_inbox("api")
    expected = {world.conversation_id}
    for inbox in (world.inbox, world.other_inbox, third, world.inbox, third):
        expected.add((await incoming(inbox, text="multi"))[0])
    await incoming(await make_inbox("api"))  # an inbox they are not in
    agent = await make_user("agent", inbox_ids=[world.inbox.id, world.other_inbox.id, third.id])
    h = await auth_headers(agent)
    items = await walk(client, "/api/v1/conversations", h, limit=2)
    assert {c["id"] for c in items} >= expected and len(items) == len({c["id"] for c in items})
    assert {c["inbox_id"] for c in items} == {world.inbox.id, world.other_inbox.id, third.id}
    keys = [(c["last_activity_at"], c["id"]) for c in items]
    assert keys == sorted(keys, reverse=True)
    open_only = await walk(client, "/api/v1/conversations", h, limit=3, status="open", q="multi")
    assert len(open_only) == 5
