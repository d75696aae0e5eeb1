"""`/ws/agent`: live events for an agent's inboxes, and a small client->server channel.

The socket subscribes to `inbox:{id}` for every inbox the agent may see, plus `agent:{id}` and `presence`.
Server frames are the JSON the fan-out published, passed through untouched (encoded once per event).
Client frames are JSON objects with a `type`; packages register handlers for their types (typing,
viewing, presence ...) with `on_client_message`, and connect/disconnect hooks with `on_connection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from sqlalchemy import select

from hub.auth.principal import Principal
from hub.db import session_scope
from hub.models import Inbox
from hub.realtime import Subscription, get_broker

log = logging.getLogger("hub.ws.agent")

ClientHandler = Callable[[Principal, dict[str, Any], "AgentConnection"], Awaitable[None]]
ConnectionHook = Callable[[Principal, "AgentConnection", bool], Awaitable[None]]

_handlers: dict[str, ClientHandler] = {}
_hooks: list[ConnectionHook] = []
_decoder = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()


def on_client_message(kind: str, handler: ClientHandler) -> None:
    _handlers[kind] = handler


def on_connection(hook: ConnectionHook) -> None:
    """`hook(principal, connection, connected)`: called with True after connect, False after disconnect."""
    if hook not in _hooks:
        _hooks.append(hook)


class AgentConnection:
    __slots__ = ("id", "principal", "socket", "subscription")

    _next = 0

    def __init__(self, principal: Principal, socket: WebSocket[Any, Any, Any], subscription: Subscription) -> None:
        AgentConnection._next += 1
        self.id = AgentConnection._next
        self.principal = principal
        self.socket = socket
        self.subscription = subscription

    async def send_json(self, data: Any) -> None:
        await self.socket.send_text(_encoder.encode(data).decode())


async def visible_inbox_ids(principal: Principal) -> list[int]:
    if principal.inbox_ids is not None:
        return sorted(principal.inbox_ids)
    async with session_scope() as session:
        return list((await session.execute(select(Inbox.id))).scalars())


@websocket("/ws/agent")
async def agent_socket(socket: WebSocket[Principal, Any, Any]) -> None:
    principal = socket.user
    await socket.accept()
    subscription = get_broker().subscription()
    conn = AgentConnection(principal, socket, subscription)
    topics = [f"inbox:{i}" for i in await visible_inbox_ids(principal)]
    await subscription.add(*topics, f"agent:{principal.id}", "presence")
    await conn.send_json(
        {"event": "hello", "data": {"user_id": principal.id, "inbox_ids": [int(t[6:]) for t in topics]}}
    )
    for hook in _hooks:
        await _safe(hook(principal, conn, True))
    writer = asyncio.create_task(_pump(conn))
    try:
        while True:
            raw = await socket.receive_data(mode="text")
            try:
                message = _decoder.decode(raw)
            except msgspec.DecodeError:
                await conn.send_json({"event": "error", "data": {"detail": "Frames must be JSON objects."}})
                continue
            kind = message.get("type")
            if kind == "ping":
                await conn.send_json({"event": "pong"})
                continue
            handler = _handlers.get(str(kind))
            if handler is None:
                await conn.send_json({"event": "error", "data": {"detail": f"Unknown message type {kind!r}."}})
                continue
            await _safe(handler(principal, message, conn))
    except WebSocketDisconnect:
        pass
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        await subscription.close()
        for hook in _hooks:
            await _safe(hook(principal, conn, False))


async def _pump(conn: AgentConnection) -> None:
    while True:
        _topic, payload = await conn.subscription.get()
        try:
            await conn.socket.send_text(payload.decode())
        except Exception:
            return


async def _safe(result: Awaitable[None]) -> None:
    try:
        await result
    except Exception:
        log.exception("agent websocket handler failed")
