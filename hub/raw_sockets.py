"""WebSocket routes served straight from ASGI, in front of the framework.

An idle chat widget is the most numerous thing a hub holds open: thousands per process. Going through the
framework keeps a request object, the middleware chain's frames and a handler context alive for each one;
served here, an idle socket is this small adapter and the handler's own state (see `bench/ws_capacity.py`).
Handlers authenticate the connection themselves (the widget's visitor token), as they must on a public path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Disconnected(Exception):
    """The client went away (or never finished connecting)."""


class RawWebSocket:
    __slots__ = ("_receive", "_send", "scope")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send

    @property
    def client_host(self) -> str:
        client = self.scope.get("client")
        return str(client[0]) if client else "unknown"

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.scope.get("headers") or ():
            if key == wanted:
                return bytes(value).decode("latin-1")
        return None

    def query(self, name: str) -> str | None:
        values = parse_qs(bytes(self.scope.get("query_string") or b"").decode("latin-1")).get(name)
        return values[0] if values else None

    async def accept(self) -> None:
        message = await self._receive()
        if message["type"] != "websocket.connect":
            raise Disconnected
        await self._send({"type": "websocket.accept"})

    async def send_text(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def receive_text(self) -> str:
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            raise Disconnected
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            text = data.decode("utf-8", errors="replace")
        return str(text)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


SocketHandler = Callable[[RawWebSocket, Any], Awaitable[None]]


class WithRawSockets:
    """`app` with `routes` (exact paths) answered here for WebSocket connections; all else goes to `app`.
    `state` is the framework app's, so code that looks up the served app's settings finds them."""

    def __init__(self, app: ASGIApp, routes: Mapping[str, SocketHandler], settings: Any) -> None:
        self.app = app
        self.routes = dict(routes)
        self.settings = settings
        self.state = getattr(app, "state", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.routes.get(scope.get("path", "")) if scope["type"] == "websocket" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        try:
            await handler(RawWebSocket(scope, receive, send), self.settings)
        except Disconnected:
            pass
