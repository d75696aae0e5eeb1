"""`/ws/widget?token=...[&after=<last message id>]`: the visitor's live connection.

Server frames (JSON, `type`): hello, history (replay on connect: everything after `after`, or the whole
recent history), message, ack, status (delivery/read), typing (an agent), conversation, error, pong.
Client frames: message {text, client_id}, typing {typing}, read {message_id}, prechat {fields},
offline {email, text, client_id}, ping.

An idle connection costs one coroutine and one small object: there is no per-connection queue or writer
task; a writer task exists only while frames are waiting to go out. Live frames that arrive while the
replay is being sent are held back and deduplicated by message id, so a reconnect neither loses nor
doubles a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import msgspec

from channels.chat import ratelimit, service
from channels.chat.service import ChatError, Visitor
from hub.raw_sockets import Disconnected, RawWebSocket
from hub.realtime import Subscription, get_broker
from hub.realtime.broker import Broker
from hub.settings import Settings

log = logging.getLogger("channels.chat.socket")

_decode = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode
SEEN = 256  # message ids remembered per connection (only once messages flow) to drop repeats
TYPING_REPEAT = 2.0


def visitor_topic(visitor_id: str) -> str:
    return f"chatvisitor:{visitor_id}"


class _Sub(Subscription):
    """A broker subscription that hands payloads straight to its connection (no queue)."""

    __slots__ = ("conn",)

    def __init__(self, broker: Broker, conn: WidgetConnection) -> None:
        self._broker = broker
        self.topics = set()
        self.conn = conn

    def put(self, topic: str, payload: bytes) -> None:
        self.conn.deliver(payload)


class WidgetConnection:
    __slots__ = (
        "buffer",
        "conversations",
        "ip",
        "last_id",
        "pending",
        "seen",
        "socket",
        "sub",
        "task",
        "typing",
        "visitor",
    )

    def __init__(self, socket: RawWebSocket, visitor: Visitor, ip: str) -> None:
        self.socket = socket
        self.visitor = visitor
        self.ip = ip
        self.sub = _Sub(get_broker(), self)
        self.conversations: set[int] = set()
        self.pending: deque[bytes] | None = None
        self.buffer: list[bytes] | None = []  # held while the replay is sent
        self.task: asyncio.Task[None] | None = None
        self.seen: dict[int, None] | None = None
        self.last_id = 0
        self.typing: tuple[bool, float] = (False, 0.0)

    # --- outgoing ------------------------------------------------------------------------------------
    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send_text(_encode(frame).decode())

    def deliver(self, payload: bytes) -> None:
        if self.buffer is not None:
            self.buffer.append(payload)
            return
        if self.pending is None:
            self.pending = deque()
        self.pending.append(payload)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.pending:
                frame = await self.translate(self.pending.popleft())
                if frame is not None:
                    await self.send(frame)
        except Exception:
            log.debug("widget socket write failed", exc_info=True)
        finally:
            self.pending = None
            self.task = None

    def first_sight(self, message_id: int) -> bool:
        if self.seen is None:
            self.seen = {}
        if message_id in self.seen:
            return False
        self.seen[message_id] = None
        if len(self.seen) > SEEN:
            del self.seen[next(iter(self.seen))]
        self.last_id = max(self.last_id, message_id)
        return True

    async def translate(self, payload: bytes) -> dict[str, Any] | None:
        """A topic payload -> the frame this visitor may see, or None."""
        try:
            event = _decode(payload)
        except msgspec.DecodeError:
            return None
        name = event.get("event")
        data = event.get("data") or {}
        if not isinstance(data, dict):
            return None
        if name in ("message.created", "chat.message"):
            if data.get("direction") not in ("in", "out") or not isinstance(data.get("id"), int):
                return None  # private notes never reach a visitor
            if data.get("conversation_id") not in self.conversations or not self.first_sight(data["id"]):
                return None
            author = data.get("author_id")
            names = (
                await service.author_names({author}) if data["direction"] == "out" and isinstance(author, int) else {}
            )
            frame = service.message_frame(data, names)
            if data.get("author_name"):
                frame["author_name"] = str(data["author_name"]).split(" ")[0]
            return frame
        if name == "message.updated":
            if data.get("direction") not in ("in", "out") or data.get("conversation_id") not in self.conversations:
                return None
            return {"type": "status", "id": data.get("id"), "status": data.get("status")}
        if name == "typing":
            if data.get("author_kind") != "agent" or data.get("private"):
                return None
            return {
                "type": "typing",
                "typing": bool(data.get("typing")),
                "name": str(data.get("name") or "").split(" ")[0],
                "conversation_id": event.get("conversation_id"),
            }
        if name == "chat.conversation":
            cid = data.get("conversation_id")
            if isinstance(cid, int) and cid not in self.conversations:
                self.visitor.contact_id = data.get("contact_id") or self.visitor.contact_id
                await self.join(cid)
                await self.catch_up()
            return None
        if name == "conversation.updated" and "status" in (data.get("changed") or ()):
            return {"type": "conversation", "id": data.get("id"), "status": data.get("status")}
        return None

    async def catch_up(self) -> None:
        """After joining a conversation: what it already holds that this socket has not sent yet."""
        frames, _ = await service.history(self.visitor, after=self.last_id or None)
        for frame in frames:
            if self.first_sight(frame["id"]):
                await self.send(frame)

    async def join(self, conversation_id: int) -> None:
        self.conversations.add(conversation_id)
        await self.sub.add(f"conversation:{conversation_id}")

    async def error(self, exc: ChatError, **extra: Any) -> None:
        await self.send({"type": "error", "code": exc.code, "detail": exc.detail, **extra})

    # --- lifecycle -----------------------------------------------------------------------------------
    async def start(self, after: int | None) -> None:
        await self.sub.add(visitor_topic(self.visitor.visitor_id))
        for cid in await service.conversation_ids(self.visitor):
            await self.join(cid)
        await self.send(
            {
                "type": "hello",
                "visitor_id": self.visitor.visitor_id,
                "verified": self.visitor.verified,
                "online": await service.agents_available(self.visitor.inbox.id),
                "conversation_ids": sorted(self.conversations),
            }
        )
        frames, complete = await service.history(self.visitor, after=after)
        for frame in frames:
            self.first_sight(frame["id"])
        await self.send({"type": "history", "messages": frames, "complete": complete, "resumed": after is not None})
        held, self.buffer = self.buffer or [], None
        for payload in held:
            self.deliver(payload)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self.sub.close()
        if self.typing[0] and self.conversations:
            with contextlib.suppress(Exception):
                await service.visitor_typing(self.visitor, max(self.conversations), False)

    # --- incoming ------------------------------------------------------------------------------------
    async def limited(self, settings: Settings | None, kind: str = "v") -> bool:
        s = self.visitor.settings
        wait = await ratelimit.check(
            settings,
            (f"{kind}:{self.visitor.visitor_id}", s.visitor_per_minute * (2 if kind == "t" else 1)),
            (f"ip:{self.visitor.inbox.id}:{self.ip}", s.ip_per_minute),
        )
        if wait is None:
            return False
        seconds = max(1, round(wait))
        await self.send(
            {
                "type": "error",
                "code": "rate_limited",
                "detail": f"You're sending messages too quickly. Please wait {seconds} s and try again.",
                "retry_after": seconds,
            }
        )
        return True

    async def handle(self, frame: dict[str, Any], settings: Settings | None) -> None:
        kind = frame.get("type")
        if kind == "ping":
            await self.send({"type": "pong"})
            return
        if kind == "typing":
            await self.on_typing(bool(frame.get("typing", True)), settings)
            return
        if kind not in ("message", "read", "prechat", "offline"):
            await self.send({"type": "error", "code": "unknown_type", "detail": f"Unknown frame type {kind!r}."})
            return
        if await self.limited(settings):
            return
        client_id = frame.get("client_id")
        try:
            if kind == "message":
                client_id = service.check_client_id(client_id)
                text = service.check_text(frame.get("text"))
                result = await service.send_from_visitor(self.visitor, text, client_id)
                await self.joined(result.conversation_id)
                await self.send(
                    {
                        "type": "ack",
                        "client_id": client_id,
                        "id": result.message_id,
                        "conversation_id": result.conversation_id,
                        "duplicate": not result.created,
                    }
                )
            elif kind == "read":
                ids = await service.mark_read(self.visitor, frame.get("message_id"))
                await self.send({"type": "read.ok", "ids": ids})
            elif kind == "prechat":
                answers = await service.save_prechat(self.visitor, frame.get("fields"))
                await self.send({"type": "prechat.ok", "fields": answers})
            else:
                client_id = service.check_client_id(client_id)
                text = service.check_text(frame.get("text"))
                outcome = await service.offline_message(self.visitor, frame.get("email"), text, client_id)
                if outcome["conversation_id"] is not None:
                    await self.joined(outcome["conversation_id"])
                await self.send({"type": "offline.ok", "client_id": client_id, **outcome})
        except ChatError as exc:
            await self.error(exc, client_id=client_id if isinstance(client_id, str) else None)
        except Exception as exc:  # IngestRejected and anything unexpected: the visitor gets a reason
            from hub.ingest import IngestRejected

            if not isinstance(exc, IngestRejected):
                log.exception("widget frame %s failed", kind)
            detail = str(exc) if isinstance(exc, IngestRejected) else "Something went wrong; please try again."
            await self.error(
                ChatError(detail, code="rejected"), client_id=client_id if isinstance(client_id, str) else None
            )

    async def joined(self, conversation_id: int) -> None:
        if conversation_id in self.conversations:
            return
        await self.join(conversation_id)
        await self.catch_up()
        await get_broker().publish(
            visitor_topic(self.visitor.visitor_id),
            _encode(
                {
                    "event": "chat.conversation",
                    "data": {"conversation_id": conversation_id, "contact_id": self.visitor.contact_id},
                }
            ),
        )

    async def on_typing(self, typing: bool, settings: Settings | None) -> None:
        if not self.conversations:
            return
        now = time.monotonic()
        if self.typing[0] == typing and now - self.typing[1] < TYPING_REPEAT:
            return
        if await self.limited(settings, "t"):
            return
        self.typing = (typing, now)
        await service.visitor_typing(self.visitor, max(self.conversations), typing)


async def _refuse(socket: RawWebSocket, exc: ChatError, code: int, **extra: Any) -> None:
    await socket.accept()
    with contextlib.suppress(Exception):
        frame = {"type": "error", "code": exc.code, "detail": exc.detail, **extra}
        await socket.send_text(_encode(frame).decode())
        await socket.close(code=code, reason=exc.detail[:120])


async def widget_socket(socket: RawWebSocket, settings: Settings | None) -> None:
    """`/ws/widget`, the widget's connection (served in front of the framework: see `hub.raw_sockets`);
    authenticated by the visitor token from `POST /api/v1/widget/session`."""
    try:
        visitor = await service.visitor_from_token(socket.query("token"))
        service.check_origin(visitor.settings, socket.header("origin"))
    except ChatError as exc:
        await _refuse(socket, exc, 4401 if exc.status == 401 else 4403 if exc.status == 403 else 4404)
        return
    ip = socket.client_host
    s = visitor.settings
    wait = await ratelimit.check(
        settings,
        (f"conn-v:{visitor.visitor_id}", s.visitor_per_minute),
        (f"conn-ip:{visitor.inbox.id}:{ip}", s.ip_per_minute),
    )
    if wait is not None:
        seconds = max(1, round(wait))
        refusal = ChatError(f"Too many connections; reconnecting in {seconds} s.", status=429, code="rate_limited")
        await _refuse(socket, refusal, 4429, retry_after=seconds)
        return
    raw_after = socket.query("after")
    after = int(raw_after) if raw_after and raw_after.isdigit() else None
    await socket.accept()
    conn = WidgetConnection(socket, visitor, ip)
    try:
        await conn.start(after)
        while True:
            raw = await socket.receive_text()
            try:
                frame = _decode(raw)
            except msgspec.DecodeError:
                await conn.send({"type": "error", "code": "bad_frame", "detail": "Frames must be JSON objects."})
                continue
            await conn.handle(frame, settings)
    except Disconnected:
        pass
    finally:
        await conn.close()
