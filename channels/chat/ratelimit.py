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
        now = time.time()
        window = int(now // self.WINDOW)
        full = f"{self._prefix}{key}:{window}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(full)
        pipe.expire(full, self.WINDOW * 2)
        count, _ = await pipe.execute()
        if int(count) <= per_minute:
            return None
        return max(1.0, math.ceil((window + 1) * self.WINDOW - now))

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
    waits = [w for key, per_minute in limits if (w := await limiter(settings).hit(key, per_minute)) is not None]
    return max(waits) if waits else None
