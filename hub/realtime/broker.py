"""The per-process broker: local subscriptions plus a pluggable cross-process transport."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

log = logging.getLogger("hub.realtime")

Deliver = Callable[[str, bytes], Awaitable[None] | None]


class Transport(Protocol):
    async def start(self, on_message: Callable[[str, bytes], None]) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, topic: str, payload: bytes) -> None: ...
    async def watch(self, topic: str) -> None: ...
    async def unwatch(self, topic: str) -> None: ...


class Subscription:
    """A set of topics delivering into one queue; what a websocket connection holds."""

    __slots__ = ("_broker", "queue", "topics")

    def __init__(self, broker: Broker, maxsize: int = 1000) -> None:
        self._broker = broker
        self.queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize)
        self.topics: set[str] = set()

    async def add(self, *topics: str) -> None:
        for topic in topics:
            if topic not in self.topics:
                self.topics.add(topic)
                await self._broker._attach(topic, self)

    async def remove(self, *topics: str) -> None:
        for topic in topics:
            if topic in self.topics:
                self.topics.discard(topic)
                await self._broker._detach(topic, self)

    async def close(self) -> None:
        await self.remove(*list(self.topics))

    def put(self, topic: str, payload: bytes) -> None:
        try:
            self.queue.put_nowait((topic, payload))
        except asyncio.QueueFull:
            log.warning("dropping realtime message for a slow consumer on %s", topic)

    async def get(self) -> tuple[str, bytes]:
        return await self.queue.get()


class Broker:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._local: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self.transport.start(self._dispatch)

    async def stop(self) -> None:
        await self.transport.stop()

    async def publish(self, topics: str | Iterable[str], payload: bytes) -> None:
        for topic in [topics] if isinstance(topics, str) else topics:
            await self.transport.publish(topic, payload)

    def subscription(self, maxsize: int = 1000) -> Subscription:
        return Subscription(self, maxsize)

    def local_count(self, topic: str) -> int:
        return len(self._local.get(topic, ()))

    def _dispatch(self, topic: str, payload: bytes) -> None:
        for sub in tuple(self._local.get(topic, ())):
            sub.put(topic, payload)

    async def _attach(self, topic: str, sub: Subscription) -> None:
        subs = self._local[topic]
        first = not subs
        subs.add(sub)
        if first:
            await self.transport.watch(topic)

    async def _detach(self, topic: str, sub: Subscription) -> None:
        subs = self._local.get(topic)
        if not subs:
            return
        subs.discard(sub)
        if not subs:
            del self._local[topic]
            await self.transport.unwatch(topic)


_broker: Broker | None = None


def get_broker() -> Broker:
    if _broker is None:
        raise RuntimeError("The realtime broker is not started; the app's lifespan starts it.")
    return _broker


def set_broker(broker: Broker | None) -> None:
    global _broker
    _broker = broker
