"""A light fixed-window rate limit for public endpoints: in memory on the embedded default, in Redis
(shared by every web process) when REDIS_URL is set."""

from __future__ import annotations

import time
from typing import Any

from litestar.exceptions import TooManyRequestsException

from hub.settings import get_settings

_memory: dict[str, tuple[int, int]] = {}
_redis: Any = None


async def hit(key: str, *, limit: int, window: int, redis_url: str | None = None, namespace: str = "hub") -> None:
    """Count one request for `key`; raise 429 once `limit` is passed within the current `window` seconds."""
    bucket = int(time.time() // window)
    url = get_settings().redis_url if redis_url is None else redis_url
    if url:
        global _redis
        if _redis is None:
            import redis.asyncio as aioredis

            _redis = aioredis.Redis.from_url(url)
        name = f"{namespace}:kb-rate:{key}:{bucket}"
        count = int(await _redis.incr(name))
        if count == 1:
            await _redis.expire(name, window * 2)
    else:
        if len(_memory) > 50_000:
            _memory.clear()
        previous = _memory.get(key)
        count = previous[1] + 1 if previous and previous[0] == bucket else 1
        _memory[key] = (bucket, count)
    if count > limit:
        raise TooManyRequestsException(
            "Too many suggestion requests; wait a few seconds and try again.", headers={"Retry-After": str(window)}
        )


async def close() -> None:
    global _redis
    if _redis is not None:
        await _redis.aclose()
        _redis = None
