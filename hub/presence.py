"""Agent presence (online / away / offline) and collision hints (who views or types in a conversation).

Presence is kept per user across tabs and processes: every open `/ws/agent` connection is one entry in a
store (an in-process dict by default, a Redis sorted set per user when REDIS_URL is set, each entry with an
expiry the owning process keeps refreshing, so a crashed process cannot leave anyone "online" for good).
The first connection makes a user online, the last one closing makes them offline; "away" is the user's
own choice while connected. Transitions are written to `User.availability` (routing reads it) and emitted as
`presence` domain events, which the fan-out publishes to the `presence` topic every agent socket follows.

Viewing and typing are never stored: the client announces them, the server checks the agent may see the
conversation's inbox and publishes them to `conversation:{id}` and `inbox:{id}`; a disconnect withdraws
what the connection had announced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import select, update

from hub import events
from hub.api.ws_agent import AgentConnection, on_client_message, on_connection
from hub.auth.principal import Principal
from hub.db import session_scope
from hub.events import DomainEvent
from hub.models import Conversation, User

log = logging.getLogger("hub.presence")

STATUSES = ("online", "away", "offline")
# An entry lives this long unless its process refreshes it; refreshes run every REFRESH seconds.
ENTRY_TTL = 90.0
REFRESH = 30.0
# Client hints arrive on keystrokes; repeats of the same state inside these windows are dropped.
TYPING_REPEAT = 2.0
VIEWING_REPEAT = 5.0
AGAIN_REPEAT = 1.0


class PresenceStore(Protocol):
    async def add(self, user_id: int, key: str) -> int: ...
    async def remove(self, user_id: int, key: str) -> int: ...
    async def count(self, user_id: int) -> int: ...
    async def live(self, user_ids: Iterable[int]) -> set[int]: ...
    async def tracked(self) -> set[int]: ...
    async def forget(self, user_id: int) -> None: ...
    async def refresh(self, entries: Iterable[tuple[int, str]]) -> None: ...
    async def close(self) -> None: ...


class MemoryStore:
    """One process holds every connection (the embedded default), so a dict of sets is the truth."""

    def __init__(self) -> None:
        self._conns: dict[int, set[str]] = defaultdict(set)
        self._tracked: set[int] = set()

    async def add(self, user_id: int, key: str) -> int:
        self._conns[user_id].add(key)
        self._tracked.add(user_id)
        return len(self._conns[user_id])

    async def tracked(self) -> set[int]:
        return set(self._tracked)

    async def forget(self, user_id: int) -> None:
        if not self._conns.get(user_id):
            self._tracked.discard(user_id)

    async def remove(self, user_id: int, key: str) -> int:
        conns = self._conns.get(user_id)
        if conns is None:
            return 0
        conns.discard(key)
        if not conns:
            del self._conns[user_id]
            return 0
        return len(conns)

    async def count(self, user_id: int) -> int:
        return len(self._conns.get(user_id, ()))

    async def live(self, user_ids: Iterable[int]) -> set[int]:
        return {u for u in user_ids if self._conns.get(u)}

    async def refresh(self, entries: Iterable[tuple[int, str]]) -> None:
        return None

    async def close(self) -> None:
        self._conns.clear()


class RedisStore:
    """`{ns}:presence:user:{id}` is a sorted set of connection keys scored by expiry time;
    `{ns}:presence:tracked` the users presence has marked online (the only ones a sweep may touch)."""

    def __init__(self, url: str, namespace: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._prefix = f"{namespace}:presence:user:"
        self._tracked = f"{namespace}:presence:tracked"

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}{user_id}"

    async def add(self, user_id: int, key: str) -> int:
        now = time.time()
        pipe = self._redis.pipeline(transaction=True)
        pipe.zremrangebyscore(self._key(user_id), "-inf", now)
        pipe.zadd(self._key(user_id), {key: now + ENTRY_TTL})
        pipe.zcard(self._key(user_id))
        pipe.expire(self._key(user_id), int(ENTRY_TTL * 2))
        pipe.sadd(self._tracked, str(user_id))
        result = await pipe.execute()
        return int(result[2])

    async def tracked(self) -> set[int]:
        return {int(m) for m in await self._redis.smembers(self._tracked)}

    async def forget(self, user_id: int) -> None:
        if await self.count(user_id) == 0:
            await self._redis.srem(self._tracked, str(user_id))

    async def remove(self, user_id: int, key: str) -> int:
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrem(self._key(user_id), key)
        pipe.zremrangebyscore(self._key(user_id), "-inf", time.time())
        pipe.zcard(self._key(user_id))
        result = await pipe.execute()
        return int(result[2])

    async def count(self, user_id: int) -> int:
        pipe = self._redis.pipeline(transaction=True)
        pipe.zremrangebyscore(self._key(user_id), "-inf", time.time())
        pipe.zcard(self._key(user_id))
        result = await pipe.execute()
        return int(result[1])

    async def live(self, user_ids: Iterable[int]) -> set[int]:
        ids = list(user_ids)
        now = time.time()
        pipe = self._redis.pipeline(transaction=False)
        for user_id in ids:
            pipe.zcount(self._key(user_id), now, "+inf")
        counts = await pipe.execute()
        return {u for u, n in zip(ids, counts, strict=True) if int(n) > 0}

    async def refresh(self, entries: Iterable[tuple[int, str]]) -> None:
        expiry = time.time() + ENTRY_TTL
        pipe = self._redis.pipeline(transaction=False)
        for user_id, key in entries:
            pipe.zadd(self._key(user_id), {key: expiry})
            pipe.expire(self._key(user_id), int(ENTRY_TTL * 2))
        await pipe.execute()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._redis.aclose()


class _ConnState:
    __slots__ = ("last_typing", "last_viewing", "typing", "viewing")

    def __init__(self) -> None:
        self.viewing: tuple[int, int] | None = None  # (conversation_id, inbox_id)
        self.typing: tuple[int, int] | None = None
        self.last_viewing: tuple[Any, float] = (None, 0.0)
        self.last_typing: tuple[Any, float] = (None, 0.0)


class Presence:
    """The per-process presence service; one instance, created lazily with the first connection."""

    def __init__(self, store: PresenceStore, *, shared: bool) -> None:
        self.store = store
        self.shared = shared  # True when several processes share the store (Redis): sweeping is safe
        self.process = uuid.uuid4().hex[:12]
        self.local: dict[int, tuple[int, str]] = {}  # connection id -> (user id, store key)
        self.conns: dict[int, _ConnState] = {}
        self._task: asyncio.Task[None] | None = None
        self._conv_inbox: dict[int, tuple[float, int | None]] = {}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="presence-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.store.close()

    # --- connections -----------------------------------------------------------------------------------
    async def connected(self, principal: Principal, conn: AgentConnection) -> None:
        key = f"{self.process}:{conn.id}"
        self.local[conn.id] = (principal.id, key)
        self.conns[conn.id] = _ConnState()
        count = await self.store.add(principal.id, key)
        if count == 1:
            # The first tab anywhere: announce even if the stored value already says online (a new account).
            await set_status(principal.id, "online", announce=True)
        elif await get_availability(principal.id) == "offline":
            await set_status(principal.id, "online")  # a racing last-tab-close wrote offline
        users = await snapshot(self.store)
        with contextlib.suppress(Exception):  # the tab may already be gone; its disconnect hook follows
            await conn.send_json({"event": "presence.snapshot", "data": {"users": users}})

    async def disconnected(self, principal: Principal, conn: AgentConnection) -> None:
        entry = self.local.pop(conn.id, None)
        state = self.conns.pop(conn.id, None)
        if state is not None:
            if state.typing is not None:
                await _publish_hint("typing", principal, *state.typing, {"typing": False})
            if state.viewing is not None:
                await _publish_hint("viewing", principal, *state.viewing, {"viewing": False})
        if entry is None:
            return
        remaining = await self.store.remove(*entry)
        if remaining == 0:
            await set_status(principal.id, "offline")
            await self.store.forget(principal.id)
            # Another process may have added a tab between our count and our write: put it right.
            if await self.store.count(principal.id) > 0:
                await set_status(principal.id, "online")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH)
            try:
                await self.store.refresh(list(self.local.values()))
                if self.shared:
                    await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("presence refresh failed")

    async def sweep(self) -> None:
        """Users presence made online whose every connection is gone (their process died) become offline.
        Availability set any other way (the API, an account's default) is never touched."""
        for user_id in await self.store.tracked():
            if await self.store.count(user_id) == 0:
                await set_status(user_id, "offline")
                await self.store.forget(user_id)

    # --- client hints --------------------------------------------------------------------------------
    async def inbox_of(self, conversation_id: int) -> int | None:
        hit = self._conv_inbox.get(conversation_id)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        async with session_scope() as session:
            inbox_id = (
                await session.execute(select(Conversation.inbox_id).where(Conversation.id == conversation_id))
            ).scalar_one_or_none()
        if len(self._conv_inbox) > 10_000:
            self._conv_inbox.clear()
        self._conv_inbox[conversation_id] = (now + 30.0, inbox_id)
        return inbox_id

    async def _allowed(self, principal: Principal, conn: AgentConnection, raw: Any) -> tuple[int, int] | None:
        if raw is None:
            return None
        try:
            conversation_id = int(raw)
        except (TypeError, ValueError):
            await conn.send_json({"event": "error", "data": {"detail": "conversation_id must be a number."}})
            return None
        inbox_id = await self.inbox_of(conversation_id)
        if inbox_id is None or not principal.can_see_inbox(inbox_id):
            await conn.send_json(
                {"event": "error", "data": {"detail": f"No conversation {conversation_id} in your inboxes."}}
            )
            return None
        return conversation_id, inbox_id

    async def on_viewing(self, principal: Principal, message: dict[str, Any], conn: AgentConnection) -> None:
        state = self.conns.get(conn.id)
        if state is None:
            return
        target = await self._allowed(principal, conn, message.get("conversation_id"))
        if target is None and message.get("conversation_id") is not None:
            return
        again = bool(message.get("again"))  # an answer to someone who just arrived, or a heartbeat
        now = time.monotonic()
        window = AGAIN_REPEAT if again else VIEWING_REPEAT
        if state.last_viewing[0] == target and now - state.last_viewing[1] < window:
            return
        state.last_viewing = (target, now)
        previous = state.viewing
        if previous is not None and previous != target:
            await _publish_hint("viewing", principal, *previous, {"viewing": False})
            if state.typing is not None and state.typing[0] == previous[0]:
                await _publish_hint("typing", principal, *previous, {"typing": False})
                state.typing = None
        state.viewing = target
        if target is not None:
            await _publish_hint("viewing", principal, *target, {"viewing": True, "again": again})

    async def on_typing(self, principal: Principal, message: dict[str, Any], conn: AgentConnection) -> None:
        state = self.conns.get(conn.id)
        if state is None:
            return
        target = await self._allowed(principal, conn, message.get("conversation_id"))
        if target is None:
            return
        typing = bool(message.get("typing", True))
        private = bool(message.get("private", False))
        now = time.monotonic()
        signature = (target, typing, private)
        if state.last_typing[0] == signature and now - state.last_typing[1] < TYPING_REPEAT:
            return
        state.last_typing = (signature, now)
        state.typing = target if typing else None
        await _publish_hint("typing", principal, *target, {"typing": typing, "private": private})

    async def on_presence(self, principal: Principal, message: dict[str, Any], conn: AgentConnection) -> None:
        status = message.get("status")
        if status not in ("online", "away"):
            await conn.send_json({"event": "error", "data": {"detail": "status must be 'online' or 'away'."}})
            return
        await set_status(principal.id, str(status))


async def _publish_hint(
    kind: str, principal: Principal, conversation_id: int, inbox_id: int, extra: dict[str, Any]
) -> None:
    data = {"user_id": principal.id, "name": principal.name or principal.email, "author_kind": "agent", **extra}
    await events.emit(DomainEvent(name=kind, data=data, inbox_id=inbox_id, conversation_id=conversation_id))


async def get_availability(user_id: int) -> str | None:
    async with session_scope() as session:
        return (await session.execute(select(User.availability).where(User.id == user_id))).scalar_one_or_none()


async def set_status(user_id: int, status: str, *, announce: bool = False) -> None:
    """Store the user's availability (routing reads it) and announce it; a no-op when unchanged unless
    `announce` asks for the event anyway."""
    if status not in STATUSES:
        raise ValueError(f"unknown presence status {status!r}")
    async with session_scope() as session:
        query = update(User).where(User.id == user_id)
        if not announce:
            query = query.where(User.availability != status)
        changed = (await session.execute(query.values(availability=status).returning(User.name, User.email))).first()
    if changed is None:
        return
    data = {"user_id": user_id, "name": changed[0] or changed[1], "status": status}
    await events.emit(DomainEvent(name="presence", data=data, user_id=user_id))


async def snapshot(store: PresenceStore | None = None) -> list[dict[str, Any]]:
    """Every active user's availability: what a freshly opened page starts from. Users without a live
    connection are shown offline whatever is stored (a new account's default is "online")."""
    store = store or (_service.store if _service is not None else None)
    async with session_scope() as session:
        rows = (
            await session.execute(
                select(User.id, User.name, User.email, User.availability).where(User.active).order_by(User.name)
            )
        ).all()
    live = await store.live(r[0] for r in rows) if store is not None else {r[0] for r in rows}
    return [{"user_id": r[0], "name": r[1] or r[2], "status": r[3] if r[0] in live else "offline"} for r in rows]


_service: Presence | None = None


def service() -> Presence | None:
    return _service


def _service_for(conn: AgentConnection) -> Presence:
    return service_for_app(conn.socket.app)


def service_for_app(app: Any) -> Presence:
    """The process's presence service, created from the settings of the app (REDIS_URL decides the store)."""
    global _service
    if _service is None:
        settings = getattr(getattr(app, "state", None), "settings", None)
        redis_url = getattr(settings, "redis_url", "") or ""
        if redis_url:
            store: PresenceStore = RedisStore(redis_url, getattr(settings, "redis_namespace", "hub"))
            _service = Presence(store, shared=True)
        else:
            _service = Presence(MemoryStore(), shared=False)
        _service.start()
    return _service


async def _on_connection(principal: Principal, conn: AgentConnection, connected: bool) -> None:
    svc = _service_for(conn)
    if connected:
        await svc.connected(principal, conn)
    else:
        await svc.disconnected(principal, conn)


async def _on_viewing(principal: Principal, message: dict[str, Any], conn: AgentConnection) -> None:
    await _service_for(conn).on_viewing(principal, message, conn)


async def _on_typing(principal: Principal, message: dict[str, Any], conn: AgentConnection) -> None:
    await _service_for(conn).on_typing(principal, message, conn)


async def _on_presence(principal: Principal, message: dict[str, Any], conn: AgentConnection) -> None:
    await _service_for(conn).on_presence(principal, message, conn)


def install() -> None:
    """Register the websocket handlers; call from a package's `setup` (the web inbox does)."""
    on_connection(_on_connection)
    on_client_message("viewing", _on_viewing)
    on_client_message("typing", _on_typing)
    on_client_message("presence", _on_presence)


async def shutdown() -> None:
    global _service
    if _service is not None:
        await _service.stop()
    _service = None
