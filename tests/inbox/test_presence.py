"""Presence over several tabs and collision hints (viewing, typing) through a real server and websockets."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack

import pytest
import websockets
from sqlalchemy import select

from hub.db import session_scope
from hub.models import User
from tests.factories import auth_headers, make_user
from tests.inbox.conftest import api_inbox, customer_says


async def next_event(ws, name: str, match=None, timeout: float = 10.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time())))
        if frame.get("event") == name and (match is None or match(frame)):
            return frame


async def drain(ws) -> list[dict]:
    """Everything the server sent before it answers a ping (the socket handles frames in order)."""
    await ws.send(json.dumps({"type": "ping"}))
    seen = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame.get("event") == "pong":
            return seen
        seen.append(frame)


async def availability(user_id: int) -> str:
    async with session_scope() as session:
        return (await session.execute(select(User.availability).where(User.id == user_id))).scalar_one()


def about(user_id: int):
    return lambda f: f["data"].get("user_id") == user_id


async def open_tab(stack: AsyncExitStack, live_server, headers):
    ws = await stack.enter_async_context(
        websockets.connect(f"{live_server.ws_url}/ws/agent", additional_headers=headers)
    )
    await next_event(ws, "hello")
    return ws


async def test_presence_kept_across_tabs_until_the_last_closes(client, live_server):
    watcher = await make_user("manager", name="Wanda Watcher")
    agent = await make_user("agent", name="Tab Tester")
    agent_headers = await auth_headers(agent)
    async with AsyncExitStack() as stack:
        w = await open_tab(stack, live_server, await auth_headers(watcher))
        tab1 = await websockets.connect(f"{live_server.ws_url}/ws/agent", additional_headers=agent_headers)
        await next_event(tab1, "hello")
        snapshot = await next_event(tab1, "presence.snapshot")
        assert any(u["user_id"] == watcher.id and u["status"] == "online" for u in snapshot["data"]["users"])
        online = await next_event(w, "presence", about(agent.id))
        assert online["data"]["status"] == "online" and online["data"]["name"] == "Tab Tester"
        assert await availability(agent.id) == "online"

        tab2 = await websockets.connect(f"{live_server.ws_url}/ws/agent", additional_headers=agent_headers)
        await next_event(tab2, "presence.snapshot")  # sent once the tab is counted
        await tab1.close()
        await drain(tab2)  # the server has handled tab2's frames; tab1's close has been processed by now
        await asyncio.sleep(0.3)
        assert [f for f in await drain(w) if f["event"] == "presence" and about(agent.id)(f)] == []
        assert await availability(agent.id) == "online"

        await tab2.send(json.dumps({"type": "presence", "status": "away"}))
        away = await next_event(w, "presence", about(agent.id))
        assert away["data"]["status"] == "away"
        # the user's other tabs hear it too (their own agent topic), so every tab shows the same status
        assert (await next_event(tab2, "presence", about(agent.id)))["data"]["status"] == "away"
        assert await availability(agent.id) == "away"

        await tab2.close()
        offline = await next_event(w, "presence", about(agent.id))
        assert offline["data"]["status"] == "offline"
        assert await availability(agent.id) == "offline"


async def test_bad_presence_status_is_refused(client, live_server):
    agent = await make_user("agent")
    async with AsyncExitStack() as stack:
        ws = await open_tab(stack, live_server, await auth_headers(agent))
        await ws.send(json.dumps({"type": "presence", "status": "asleep"}))
        error = await next_event(ws, "error")
        assert "online" in error["data"]["detail"]


async def test_viewing_and_typing_reach_colleagues_of_that_inbox_only(client, live_server):
    inbox = await api_inbox()
    elsewhere = await api_inbox()
    conv_id = await customer_says(inbox.id, "erin", "I need help")
    alice = await make_user("agent", inbox_ids=[inbox.id], name="Alice")
    bob = await make_user("agent", inbox_ids=[inbox.id], name="Bob")
    carl = await make_user("agent", inbox_ids=[elsewhere.id], name="Carl")
    async with AsyncExitStack() as stack:
        b = await open_tab(stack, live_server, await auth_headers(bob))
        c = await open_tab(stack, live_server, await auth_headers(carl))
        await b.send(json.dumps({"type": "viewing", "conversation_id": conv_id}))
        a = await open_tab(stack, live_server, await auth_headers(alice))
        await a.send(json.dumps({"type": "viewing", "conversation_id": conv_id}))
        seen = await next_event(b, "viewing", about(alice.id))
        assert seen["conversation_id"] == conv_id and seen["inbox_id"] == inbox.id
        assert seen["data"]["viewing"] is True and seen["data"]["name"] == "Alice"

        await a.send(json.dumps({"type": "typing", "conversation_id": conv_id, "typing": True}))
        typing = await next_event(b, "typing", about(alice.id))
        assert typing["data"]["typing"] is True and typing["data"]["private"] is False

        # Carl cannot see the inbox: his hints are refused and he hears nothing about it
        await c.send(json.dumps({"type": "viewing", "conversation_id": conv_id}))
        assert "No conversation" in (await next_event(c, "error"))["data"]["detail"]
        await c.send(json.dumps({"type": "typing", "conversation_id": 10**9}))
        await next_event(c, "error")
        assert not [f for f in await drain(c) if f["event"] in ("viewing", "typing")]
        assert not [f for f in await drain(b) if f["event"] in ("viewing", "typing") and about(carl.id)(f)]

        # closing the tab withdraws what it announced
        await a.close()
        stopped = await next_event(b, "typing", about(alice.id))
        assert stopped["data"]["typing"] is False
        left = await next_event(b, "viewing", about(alice.id))
        assert left["data"]["viewing"] is False


class Tab:
    """Stands in for a websocket connection: the presence service only needs an id and send_json."""

    _next = 10_000

    def __init__(self) -> None:
        Tab._next += 1
        self.id = Tab._next
        self.frames: list[dict] = []

    async def send_json(self, data) -> None:
        self.frames.append(data)


async def test_presence_counts_tabs_across_processes(client, stack):
    """Two processes' presence services over one Redis: a tab on each; closing one keeps the user online."""
    if not stack.is_pg:
        pytest.skip("several processes share presence only through Redis")
    from hub import presence
    from hub.auth.principal import Principal

    agent = await make_user("agent", name="Two Processes")
    who = Principal(agent.id, agent.email, agent.name, "agent", frozenset())
    settings = stack.settings
    one = presence.Presence(presence.RedisStore(settings.redis_url, settings.redis_namespace), shared=True)
    two = presence.Presence(presence.RedisStore(settings.redis_url, settings.redis_namespace), shared=True)
    try:
        tab_a, tab_b = Tab(), Tab()
        await one.connected(who, tab_a)
        await two.connected(who, tab_b)
        assert await availability(agent.id) == "online"
        snapshot = tab_b.frames[-1]["data"]["users"]
        assert {"user_id": agent.id, "name": "Two Processes", "status": "online"} in snapshot
        await one.disconnected(who, tab_a)
        assert await availability(agent.id) == "online"
        await two.disconnected(who, tab_b)
        assert await availability(agent.id) == "offline"
    finally:
        await one.stop()
        await two.stop()


async def test_sweep_clears_users_whose_process_died(client, stack, monkeypatch):
    """Entries expire unless refreshed: a crashed process's users go offline at the next sweep."""
    from hub import presence

    agent = await make_user("agent")
    bystander = await make_user("agent")
    store = (
        presence.RedisStore(stack.settings.redis_url, stack.settings.redis_namespace)
        if stack.is_pg
        else presence.MemoryStore()
    )
    service = presence.Presence(store, shared=True)
    try:
        await store.add(agent.id, "dead-process:1")
        await presence.set_status(agent.id, "online")
        assert await store.count(agent.id) == 1
        if stack.is_pg:
            monkeypatch.setattr(presence, "ENTRY_TTL", -1.0)  # as if the owner stopped refreshing long ago
            await store.refresh([(agent.id, "dead-process:1")])
        else:
            await store.remove(agent.id, "dead-process:1")
        assert await store.count(agent.id) == 0
        await service.sweep()
        assert await availability(agent.id) == "offline"
        # someone made online another way (the API, a new account) is not presence's to clear
        assert await availability(bystander.id) == "online"
    finally:
        await store.close()
