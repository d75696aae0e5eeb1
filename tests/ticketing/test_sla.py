"""SLA clocks: business-hours deadlines, warnings and breaches raised live at the exact moment."""

import asyncio
from datetime import UTC, datetime

import msgspec
from sqlalchemy import select, update

from hub import events
from hub.db import session_scope
from hub.models import Conversation, Event
from hub.realtime import get_broker
from tests.factories import auth_headers, make_inbox, make_user
from tests.ticketing.conftest import eventually, inbound, reply
from ticketing import sla
from ticketing.models import SlaClock


async def clocks(conversation_id):
    async with session_scope() as session:
        return list(
            (
                await session.execute(
                    select(SlaClock).where(SlaClock.conversation_id == conversation_id).order_by(SlaClock.id)
                )
            ).scalars()
        )


async def test_business_hours_move_the_deadline_across_the_weekend(client, jobs):
    manager = await make_user("manager")
    headers = await auth_headers(manager)
    hours = await client.post(
        "/api/v1/business-hours/",
        json={"name": "office", "time_zone": "UTC", "weekly": {str(d): [["09:00", "18:00"]] for d in range(5)}},
        headers=headers,
    )
    assert hours.status_code == 201, hours.text
    policy = await client.post(
        "/api/v1/sla-policies/",
        json={"name": "1h office", "first_response_seconds": 3600, "business_hours_id": hours.json()["id"]},
        headers=headers,
    )
    assert policy.status_code == 201, policy.text
    inbox = await make_inbox()
    res = await inbound(inbox, "fri")
    friday_evening = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    async with session_scope() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == res.conversation_id).values(created_at=friday_evening)
        )
    resp = await client.put(
        f"/api/v1/conversations/{res.conversation_id}/sla", json={"policy_id": policy.json()["id"]}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    first = next(c for c in resp.json() if c["kind"] == "first_response")
    assert first["due_at"].startswith("2026-11-30T09:30:00")
    assert first["warn_at"].startswith("2026-11-30T09:18:00")  # 80 % of the hour: 12 minutes before


async def test_warning_and_breach_are_published_live(client, jobs):
    inbox = await make_inbox()
    manager = await make_user("manager")
    policy = await client.post(
        "/api/v1/sla-policies/",
        json={
            "name": "tight",
            "first_response_seconds": 2,
            "warn_ratio": 0.5,
            "resolution_seconds": 3600,
            "next_response_seconds": 3600,
            "inbox_id": inbox.id,
        },
        headers=await auth_headers(manager),
    )
    assert policy.status_code == 201, policy.text
    sub = get_broker().subscription()
    await sub.add(f"inbox:{inbox.id}")
    try:
        res = await inbound(inbox, "late")
        seen = []
        while "sla.breached" not in seen:
            _topic, payload = await asyncio.wait_for(sub.get(), 15)
            frame = msgspec.json.decode(payload)
            if frame["event"].startswith("sla."):
                assert frame["conversation_id"] == res.conversation_id
                assert frame["data"]["kind"] == "first_response"
                seen.append(frame["event"])
        assert seen == ["sla.warning", "sla.breached"]
    finally:
        await sub.close()
    async with session_scope() as session:
        kinds = list(
            (
                await session.execute(
                    select(Event.kind).where(Event.conversation_id == res.conversation_id, Event.kind.like("sla.%"))
                )
            ).scalars()
        )
    assert kinds.count("sla.breached") == 1 and kinds.count("sla.warning") == 1
    agent = await make_user("agent", inbox_ids=[inbox.id])
    await reply(res.conversation_id, agent.id)
    first = next(c for c in await clocks(res.conversation_id) if c.kind == "first_response")
    assert first.state == "met" and first.breached_at is not None
    # the customer writes again: a next-response clock starts, and an answer meets it
    await inbound(inbox, "late", "and?")
    nxt = [c for c in await clocks(res.conversation_id) if c.kind == "next_response"]
    assert len(nxt) == 1 and nxt[0].state == "running"
    await reply(res.conversation_id, agent.id)
    assert [c.state for c in await clocks(res.conversation_id) if c.kind == "next_response"] == ["met"]
    live = await client.get("/api/v1/reports/live", params={"inbox_id": inbox.id}, headers=await auth_headers(manager))
    assert live.status_code == 200


async def test_met_target_never_breaches(client, jobs):
    inbox = await make_inbox()
    manager = await make_user("manager")
    agent = await make_user("agent", inbox_ids=[inbox.id])
    resp = await client.post(
        "/api/v1/sla-policies/",
        json={"name": "30s", "first_response_seconds": 30, "resolution_seconds": 60, "inbox_id": inbox.id},
        headers=await auth_headers(manager),
    )
    assert resp.status_code == 201
    res = await inbound(inbox, "quick")
    await reply(res.conversation_id, agent.id)
    first = next(c for c in await clocks(res.conversation_id) if c.kind == "first_response")
    assert first.state == "met"
    assert await sla.raise_alert(first.id, "breach") is False
    assert await sla.raise_alert(first.id, "warning") is False

    async def running_resolution():
        return [c for c in await clocks(res.conversation_id) if c.kind == "resolution" and c.state == "running"]

    assert await eventually(running_resolution)


async def test_policy_validation(client):
    manager = await make_user("manager")
    headers = await auth_headers(manager)
    resp = await client.post("/api/v1/sla-policies/", json={"name": "x", "first_response_seconds": -5}, headers=headers)
    assert resp.status_code == 400
    resp = await client.post(
        "/api/v1/business-hours/", json={"name": "x", "time_zone": "Nowhere/City", "weekly": {}}, headers=headers
    )
    assert resp.status_code == 400 and "time zone" in resp.json()["detail"]


async def test_sweeper_recovers_a_lost_timer(client, jobs):
    """A clock whose timer died with its process is breached by the recovery pass."""
    inbox = await make_inbox()
    res = await inbound(inbox, "crash")
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    async with session_scope() as session:
        clock = SlaClock(
            conversation_id=res.conversation_id,
            inbox_id=inbox.id,
            kind="first_response",
            state="running",
            started_at=start,
            due_at=start,
        )
        session.add(clock)
        await session.flush()
        clock_id = clock.id
    await sla.recover_overdue_clocks()
    await events.drain()  # ticketing reacts in the background
    async with session_scope() as session:
        assert (await session.get(SlaClock, clock_id)).breached_at is not None
    assert await sla.raise_alert(clock_id, "breach") is False  # raised exactly once


async def test_routing_rule_sets_the_sla_policy(client, jobs):
    inbox = await make_inbox()
    manager = await make_user("manager")
    headers = await auth_headers(manager)
    policy = await client.post(
        "/api/v1/sla-policies/", json={"name": "vip", "first_response_seconds": 600}, headers=headers
    )
    rule = await client.post(
        "/api/v1/routing-rules/",
        json={
            "name": "vip sla",
            "conditions": [{"field": "inbox_id", "op": "eq", "value": inbox.id}],
            "actions": [{"type": "set_sla_policy", "policy_id": policy.json()["id"]}],
        },
        headers=headers,
    )
    assert rule.status_code == 201, rule.text
    res = await inbound(inbox, "vip")
    kinds = {(c.kind, c.policy_id, c.state) for c in await clocks(res.conversation_id)}
    assert ("first_response", policy.json()["id"], "running") in kinds
    await client.delete(f"/api/v1/routing-rules/{rule.json()['id']}", headers=headers)
