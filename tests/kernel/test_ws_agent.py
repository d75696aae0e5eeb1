"""`/ws/agent` over a real server and the real `websockets` client; across two processes through Redis."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.conftest import start_server
from tests.factories import auth_headers, make_user, unique
from tests.kernel.helpers import api_inbox, message_payload, signed


async def _recv_event(ws, name: str, timeout: float = 10.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time()))
        frame = json.loads(raw)
        if frame.get("event") == name:
            return frame


async def _post(base_url: str, inbox, secret: str, payload: dict) -> httpx.Response:
    body, headers = signed(secret, payload)
    async with httpx.AsyncClient(base_url=base_url) as http:
        return await http.post(f"/webhooks/api/{inbox.public_token}/messages", content=body, headers=headers)


async def test_agent_receives_messages_of_their_inboxes_only(client, live_server):
    mine, mine_secret = await api_inbox()
    other, other_secret = await api_inbox()
    agent = await make_user("agent", inbox_ids=[mine.id])
    headers = await auth_headers(agent)
    async with websockets.connect(f"{live_server.ws_url}/ws/agent", additional_headers=headers) as ws:
        hello = await _recv_event(ws, "hello")
        assert hello["data"]["inbox_ids"] == [mine.id]
        resp = await _post(live_server.url, other, other_secret, message_payload(unique("o"), "not for you"))
        assert resp.status_code == 200
        resp = await _post(live_server.url, mine, mine_secret, message_payload(unique("m"), "for you"))
        assert resp.status_code == 200
        event = await _recv_event(ws, "message.created")
        assert event["data"]["text"] == "for you"
        assert event["inbox_id"] == mine.id
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _recv_event(ws, "pong"))["event"] == "pong"


async def test_agent_socket_rejects_anonymous(live_server):
    with pytest.raises(websockets.exceptions.WebSocketException):
        async with websockets.connect(f"{live_server.ws_url}/ws/agent") as ws:
            await ws.recv()


async def test_agent_socket_rejects_cross_site_cookie_use(client, live_server):
    agent = await make_user("agent")
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        from tests.factories import PASSWORD

        resp = await http.post("/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD})
        cookie = resp.headers["set-cookie"].split(";", 1)[0]
    headers = {"Cookie": cookie, "Origin": "https://evil.example"}
    with pytest.raises(websockets.exceptions.WebSocketException):
        async with websockets.connect(f"{live_server.ws_url}/ws/agent", additional_headers=headers) as ws:
            await ws.recv()
    async with websockets.connect(f"{live_server.ws_url}/ws/agent", additional_headers={"Cookie": cookie}) as ws:
        assert (await _recv_event(ws, "hello"))["data"]["user_id"] == agent.id


async def test_event_published_in_one_process_reaches_agent_on_another(client, stack, live_server, tmp_path):
    if not stack.is_pg:
        pytest.skip("cross-process fan-out needs Redis; the embedded stack is one process by design")
    second = start_server(stack, tmp_path)
    try:
        inbox, secret = await api_inbox()
        agent = await make_user("agent", inbox_ids=[inbox.id])
        headers = await auth_headers(agent)
        async with websockets.connect(f"{second.ws_url}/ws/agent", additional_headers=headers) as ws:
            await _recv_event(ws, "hello")
            resp = await _post(live_server.url, inbox, secret, message_payload(unique("x"), "via process one"))
            assert resp.status_code == 200
            event = await _recv_event(ws, "message.created")
            assert event["data"]["text"] == "via process one"
    finally:
        second.stop()
