"""Rate limits for widget endpoints and socket frames, per visitor and per client IP.

In one process (the embedded default) a token bucket per key; with REDIS_URL a fixed window counter
(INCR + EXPIRE under the hub's namespace) so every web process shares the same budget.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol

from hub.settings import Settings


class Limiter(Protocol):
    async def hit(self, key: str, per_minute: int) -> float | None:
        """Count one request; None when allowed, else seconds until the next one would be."""
        ...

    async def hit_many(self, limits: tuple[tuple[str, int], ...]) -> list[float | None]: ...

    async def close(self) -> None: ...


class MemoryLimiter:
    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)

    async def hit(self, key: str, per_minute: int) -> float | None:
        now = time.monotonic()
        rate = per_minute / 60.0
        tokens, last = self._buckets.get(key, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate if rate > 0 else 60.0
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 100_000:
            self._prune(now)
        return None

    async def hit_many(self, limits: tuple[tuple[str, int], ...]) -> list[float | None]:
        return [await self.hit(key, per_minute) for key, per_minute in limits]

    def _prune(self, now: float) -> None:
        stale = [k for k, (_, last) in self._buckets.items() if now - last > 120]
        for k in stale:
            del self._buckets[k]

    async def close(self) -> None:
        self._buckets.clear()


class RedisLimiter:
    WINDOW = 60

    def __init__(self, url: str, namespace: str) -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url)
        self._prefix = f"{namespace}:chat:rl:"

    async def hit(self, key: str, per_minute: int) -> float | None:
        return (await self.hit_many(((key, per_minute),)))[0]

    async def hit_many(self, limits: tuple[tuple[str, int], ...]) -> list[float | None]:
        """Every key counted in one round trip."""
        now = time.time()
        window = int(now // self.WINDOW)
        pipe = self._redis.pipeline(transaction=False)
        for key, _ in limits:
            full = f"{self._prefix}{key}:{window}"
            pipe.incr(full)
            pipe.expire(full, self.WINDOW * 2)
        replies = await pipe.execute()
        wait = max(1.0, math.ceil((window + 1) * self.WINDOW - now))
        return [None if int(replies[2 * i]) <= per_minute else wait for i, (_, per_minute) in enumerate(limits)]

    async def close(self) -> None:
        await self._redis.aclose()


_limiter: Limiter | None = None


def limiter(settings: Settings | None) -> Limiter:
    global _limiter
    if _limiter is None:
        url = settings.redis_url if settings is not None else ""
        _limiter = RedisLimiter(url, settings.redis_namespace) if settings and url else MemoryLimiter()
    return _limiter


async def close() -> None:
    global _limiter
    if _limiter is not None:
        try:
            await _limiter.close()
        finally:
            _limiter = None


async def check(settings: Settings | None, *limits: tuple[str, int]) -> float | None:
    """Count a request against every (key, per-minute) limit; the longest wait if any is exceeded."""
    waits = [w for w in await limiter(settings).hit_many(limits) if w is not None]
    return max(waits) if waits else None
