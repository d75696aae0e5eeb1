"""`/ws/widget` end to end: a real server process, the real `websockets` client for the visitor and for
the agent's `/ws/agent`, replies through the REST API (dispatch -> hub.deliver -> the chat channel)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.chat.conftest import Widget, chat_inbox, client_id, recv_event, start_session
from tests.factories import auth_headers, make_user


async def _reply(base: str, headers: dict[str, str], conversation_id: int, text: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        resp = await http.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": text})
    assert resp.status_code in (200, 201), resp.text
    data: dict[str, Any] = resp.json()
    return data


def _widget_url(live_server: Any, token: str, after: int | None = None) -> str:
    return f"{live_server.ws_url}/ws/widget?token={token}" + (f"&after={after}" if after else "")


async def test_visitor_and_agent_talk_live_with_typing_and_read_receipts(client, live_server) -> None:
    inbox = await chat_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id], name="Avery Agent")
    headers = await auth_headers(agent)
    session = await start_session(live_server.url, inbox)
    async with (
        websockets.connect(f"{live_server.ws_url}/ws/agent", additional_headers=headers) as agent_ws,
        websockets.connect(_widget_url(live_server, session["token"])) as raw,
    ):
        await recv_event(agent_ws, "hello")
        widget = Widget(raw)
        hello = await widget.recv("hello")
        assert hello["online"] is True and hello["conversation_ids"] == []
        history = await widget.recv("history")
        assert history["messages"] == []

        cid = client_id()
        await widget.send(type="message", text="Is my parcel lost?", client_id=cid)
        ack = await widget.recv("ack", client_id=cid)
        seen = await recv_event(agent_ws, "message.created", text="Is my parcel lost?")
        assert seen["conversation_id"] == ack["conversation_id"] and seen["inbox_id"] == inbox.id
        conversation_id = ack["conversation_id"]

        # a resend of the same client id is idempotent
        await widget.send(type="message", text="Is my parcel lost?", client_id=cid)
        dup = await widget.recv("ack", client_id=cid)
        assert dup["id"] == ack["id"] and dup["duplicate"] is True

        # visitor typing reaches the agent; agent typing reaches the visitor (private note typing does not)
        await widget.send(type="typing", typing=True)
        typing = await recv_event(agent_ws, "typing", author_kind="contact")
        assert typing["conversation_id"] == conversation_id and typing["data"]["typing"] is True
        await agent_ws.send(json.dumps({"type": "typing", "conversation_id": conversation_id, "private": True}))
        await agent_ws.send(json.dumps({"type": "typing", "conversation_id": conversation_id, "typing": False}))
        await agent_ws.send(json.dumps({"type": "typing", "conversation_id": conversation_id, "typing": True}))
        agent_typing = await widget.recv("typing", typing=True)
        assert agent_typing["typing"] is True and agent_typing["name"] == "Avery"
        assert not any(f.get("type") == "typing" and f.get("private") for f in widget.frames)

        # the agent's reply arrives live, once; a private note never does
        async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as http:
            note = await http.post(f"/api/v1/conversations/{conversation_id}/notes", json={"text": "internal only"})
            assert note.status_code in (200, 201)
        reply = await _reply(live_server.url, headers, conversation_id, "Found it, arriving tomorrow.")
        got = await widget.recv("message", id=reply["id"])
        assert got["direction"] == "out" and got["author_name"] == "Avery"
        await asyncio.sleep(0.5)
        await widget.drain(0.5)
        texts = [f.get("text") for f in widget.frames if f.get("type") == "message"]
        assert "internal only" not in texts
        assert texts.count("Found it, arriving tomorrow.") == 1

        # read receipt: visitor read -> agent sees the message marked read
        await widget.send(type="read", message_id=reply["id"])
        read = await recv_event(agent_ws, "message.updated", id=reply["id"], status="read")
        assert read["conversation_id"] == conversation_id


async def test_reconnect_with_resume_gets_exactly_the_missed_messages(client, live_server) -> None:
    inbox = await chat_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    headers = await auth_headers(agent)
    session = await start_session(live_server.url, inbox)
    async with websockets.connect(_widget_url(live_server, session["token"])) as raw:
        widget = Widget(raw)
        await widget.recv("history")
        await widget.send(type="message", text="hello", client_id="m1")
        ack = await widget.recv("ack", client_id="m1")
        conversation_id = ack["conversation_id"]
        first = await _reply(live_server.url, headers, conversation_id, "reply one")
        await widget.recv("message", id=first["id"])
        last_seen = first["id"]
    # the connection is gone: the agent keeps writing
    missed = [await _reply(live_server.url, headers, conversation_id, f"while away {i}") for i in range(3)]
    await asyncio.sleep(0.3)
    async with websockets.connect(_widget_url(live_server, session["token"], after=last_seen)) as raw:
        widget = Widget(raw)
        history = await widget.recv("history")
        assert history["resumed"] is True
        assert [m["id"] for m in history["messages"]] == [m["id"] for m in missed]
        late = await _reply(live_server.url, headers, conversation_id, "now live again")
        await widget.recv("message", id=late["id"])
        await widget.drain(0.7)
        ids = [m["id"] for m in history["messages"]] + [f["id"] for f in widget.frames if f.get("type") == "message"]
        assert sorted(ids) == sorted({*ids}) == sorted([m["id"] for m in missed] + [late["id"]])
    # a reload (no resume point) shows the whole conversation, notes excluded
    async with websockets.connect(_widget_url(live_server, session["token"])) as raw:
        history = await Widget(raw).recv("history")
        assert [m["text"] for m in history["messages"]] == [
            "hello",
            "reply one",
            "while away 0",
            "while away 1",
            "while away 2",
            "now live again",
        ]


async def test_a_visitor_only_hears_its_own_conversation(client, live_server) -> None:
    inbox = await chat_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    headers = await auth_headers(agent)
    a = await start_session(live_server.url, inbox)
    b = await start_session(live_server.url, inbox)
    async with (
        websockets.connect(_widget_url(live_server, a["token"])) as raw_a,
        websockets.connect(_widget_url(live_server, b["token"])) as raw_b,
    ):
        wa, wb = Widget(raw_a), Widget(raw_b)
        await wa.recv("history")
        await wb.recv("history")
        await wa.send(type="message", text="A's secret", client_id="a1")
        ack = await wa.recv("ack")
        reply = await _reply(live_server.url, headers, ack["conversation_id"], "for A only")
        await wa.recv("message", id=reply["id"])
        # B tries to read A's message as if it were its own
        await wb.send(type="read", message_id=reply["id"])
        await wb.drain(0.7)
        assert not any(f.get("type") == "message" for f in wb.frames)
        assert all(f.get("ids") in (None, []) for f in wb.frames)


async def test_bad_token_gets_a_reason_and_close_code(live_server) -> None:
    async with websockets.connect(f"{live_server.ws_url}/ws/widget?token=v1.1.x.1.bad") as ws:
        frame = json.loads(await ws.recv())
        assert frame["type"] == "error" and "token" in frame["detail"]
        with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 4401


async def test_socket_rate_limit_sends_an_error_frame(client, live_server) -> None:
    inbox = await chat_inbox(visitor_per_minute=3)
    session = await start_session(live_server.url, inbox)
    async with websockets.connect(_widget_url(live_server, session["token"])) as raw:
        widget = Widget(raw)
        await widget.recv("history")
        for i in range(3):
            await widget.send(type="message", text=f"m{i}", client_id=f"r{i}")
            await widget.recv("ack", client_id=f"r{i}")
        await widget.send(type="message", text="too many", client_id="r3")
        err = await widget.recv("error")
        assert err["code"] == "rate_limited" and err["retry_after"] >= 1 and "wait" in err["detail"]


async def test_offline_visitor_leaves_an_email_over_the_socket(client, live_server) -> None:
    inbox = await chat_inbox()
    await make_user("agent", inbox_ids=[inbox.id], availability="offline")
    session = await start_session(live_server.url, inbox)
    assert session["online"] is False
    async with websockets.connect(_widget_url(live_server, session["token"])) as raw:
        widget = Widget(raw)
        hello = await widget.recv("hello")
        assert hello["online"] is False
        await widget.send(type="offline", email="not-an-email", text="hi", client_id="o1")
        assert "email" in (await widget.recv("error"))["detail"]
        await widget.send(type="offline", email="later@example.test", text="Call me", client_id="o1")
        ok = await widget.recv("offline.ok")
        assert ok["mode"] == "chat"
        assert [f["text"] for f in widget.frames if f["type"] == "message" and f["client_id"] == "o1"] == ["Call me"]


async def test_socket_refuses_sites_outside_allowed_origins(client, live_server) -> None:
    inbox = await chat_inbox(allowed_origins=["https://shop.example"])
    session = await start_session(live_server.url, inbox, origin="https://shop.example")
    url = _widget_url(live_server, session["token"])
    async with websockets.connect(url, origin="https://evil.example") as ws:  # type: ignore[arg-type]
        frame = json.loads(await ws.recv())
        assert frame["code"] == "origin_not_allowed"
        with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4403
    async with websockets.connect(url, origin="https://shop.example") as raw:  # type: ignore[arg-type]
        assert (await Widget(raw).recv("hello"))["online"] in (True, False)


async def test_prechat_over_the_socket(client, live_server) -> None:
    inbox = await chat_inbox(prechat_fields=[{"name": "name", "label": "Your name", "required": True}])
    session = await start_session(live_server.url, inbox)
    assert session["needs_prechat"] is True
    async with websockets.connect(_widget_url(live_server, session["token"])) as raw:
        widget = Widget(raw)
        await widget.recv("history")
        await widget.send(type="prechat", fields={})
        assert "Your name" in (await widget.recv("error"))["detail"]
        await widget.send(type="prechat", fields={"name": "Kim"})
        assert (await widget.recv("prechat.ok"))["fields"] == {"name": "Kim"}


async def test_reconnect_storm_is_limited_per_visitor(client, live_server) -> None:
    inbox = await chat_inbox(visitor_per_minute=2)
    session = await start_session(live_server.url, inbox)
    url = _widget_url(live_server, session["token"])
    for _ in range(2):
        async with websockets.connect(url) as raw:
            await Widget(raw).recv("history")
    async with websockets.connect(url) as ws:
        frame = json.loads(await ws.recv())
        assert frame["code"] == "rate_limited" and frame["retry_after"] >= 1
        with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4429
