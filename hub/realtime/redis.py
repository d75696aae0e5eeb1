"""Redis pub/sub transport: any number of web processes share topics.

One pub/sub connection per process; a topic is subscribed in Redis only while some local socket wants it,
so a process receives only traffic it will deliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

log = logging.getLogger("hub.realtime.redis")


class RedisTransport:
    def __init__(self, url: str, namespace: str = "hub") -> None:
        self._url = url
        self._prefix = f"{namespace}:rt:"
        self._redis: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._on_message: Callable[[str, bytes], None] | None = None
        self._ready = asyncio.Event()
        self._outbox: list[tuple[str, bytes]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def start(self, on_message: Callable[[str, bytes], None]) -> None:
        self._on_message = on_message
        self._redis = Redis.from_url(self._url)
        await self._redis.ping()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        # A placeholder subscription keeps the pub/sub connection in listening mode from the start.
        await self._pubsub.subscribe(self._prefix + "__process__")
        self._reader = asyncio.create_task(self._read(), name="realtime-redis-reader")

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis pub/sub read failed; retrying in 1s")
                await asyncio.sleep(1)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            topic = (channel.decode() if isinstance(channel, bytes) else channel)[len(self._prefix) :]
            if self._on_message is not None:
                self._on_message(topic, message["data"])

    async def stop(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Queued and sent in pipelines by one flusher task: order is kept, and a burst of events costs one
        round trip instead of one per topic."""
        self._outbox.append((self._prefix + topic, payload))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="realtime-redis-flush")

    async def _flush(self) -> None:
        assert self._redis is not None
        while self._outbox:
            batch, self._outbox = self._outbox, []
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, payload in batch:
                        pipe.publish(channel, payload)
                    await pipe.execute()
            except Exception:
                log.exception("publishing %d realtime messages to Redis failed", len(batch))

    async def watch(self, topic: str) -> None:
        assert self._pubsub is not None
        await self._pubsub.subscribe(self._prefix + topic)

    async def unwatch(self, topic: str) -> None:
        assert self._pubsub is not None
        await self._pubsub.unsubscribe(self._prefix + topic)
