"""Production queue: SAQ on Redis. Web processes enqueue; `hub worker` processes run the jobs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from saq import CronJob, Queue, Worker

from hub.jobs.registry import JobSpec, registered_jobs, sweepers

log = logging.getLogger("hub.jobs.saq")


class SaqQueue:
    def __init__(self, redis_url: str, namespace: str = "hub") -> None:
        self.queue = Queue.from_url(redis_url, name=f"{namespace}-jobs")

    async def start(self) -> None:
        await self.queue.connect()

    async def stop(self) -> None:
        await self.queue.disconnect()

    async def enqueue(self, spec: JobSpec, kwargs: dict[str, Any], key: str | None, at: datetime | None) -> None:
        options: dict[str, Any] = {
            "retries": spec.retries + 1,
            "retry_delay": spec.backoff_seconds,
            "retry_backoff": True,
            "timeout": int(spec.timeout_seconds),
        }
        if key:
            options["key"] = f"{spec.name}:{key}"
        if at is not None:
            options["scheduled"] = int(at.timestamp())
        await self.queue.enqueue(spec.name, **options, **kwargs)


def _adapt(spec: JobSpec) -> Callable[..., Awaitable[Any]]:
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        return await spec.func(**kwargs)

    run.__qualname__ = run.__name__ = spec.name
    return run


async def _sweep(ctx: dict[str, Any]) -> None:
    for sweep in sweepers():
        try:
            await sweep()
        except Exception:
            log.exception("sweeper %s failed", sweep.__qualname__)


def build_worker(
    queue: SaqQueue,
    concurrency: int = 20,
    startup: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    shutdown: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    handle_signals: bool = True,
) -> Worker:
    functions = [(spec.name, _adapt(spec)) for spec in registered_jobs().values()]

    async def on_startup(ctx: dict[str, Any]) -> None:
        if startup is not None:
            await startup(ctx)
        await _sweep(ctx)

    worker: Worker = Worker(  # type: ignore[type-var]
        queue.queue,
        functions=functions,  # type: ignore[arg-type]
        concurrency=concurrency,
        cron_jobs=[CronJob(_sweep, cron="* * * * *")],  # type: ignore[type-var]
        startup=on_startup,
        shutdown=shutdown,
        shutdown_grace_period_s=5,
    )
    if not handle_signals:
        worker.SIGNALS = []  # inside a web process the server owns SIGINT/SIGTERM
    return worker
