"""The embedded runner: jobs run as tasks on the web process's event loop, with retries and backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from hub.jobs.registry import JobSpec, sweepers

log = logging.getLogger("hub.jobs")


class InProcessQueue:
    def __init__(self, concurrency: int = 20, sweep_interval: float = 60.0) -> None:
        self._sem = asyncio.Semaphore(concurrency)
        self._pending: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sweep_interval = sweep_interval
        self._sweep_task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        self._sweep_task = asyncio.create_task(self._sweep_loop(), name="jobs-sweeper")

    async def stop(self) -> None:
        self._stopping = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        tasks = list(self._tasks)
        if self._sweep_task is not None:
            tasks.append(self._sweep_task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _sweep_loop(self) -> None:
        while True:
            for sweep in sweepers():
                try:
                    await sweep()
                except Exception:
                    log.exception("sweeper %s failed", sweep.__qualname__)
            await asyncio.sleep(self._sweep_interval)

    async def enqueue(self, spec: JobSpec, kwargs: dict[str, Any], key: str | None, at: datetime | None) -> None:
        if self._stopping:
            return
        ident = f"{spec.name}:{key}" if key else None
        if ident is not None:
            if ident in self._pending:
                if at is None or ident not in self._timers:
                    return
                # A new schedule for the same key replaces the old timer (SLA deadlines move).
                self._timers.pop(ident).cancel()
            self._pending.add(ident)
        delay = 0.0 if at is None else max(0.0, (at - datetime.now(UTC)).total_seconds())
        self._schedule(spec, kwargs, ident, delay, attempt=1)

    def _schedule(self, spec: JobSpec, kwargs: dict[str, Any], ident: str | None, delay: float, attempt: int) -> None:
        if delay <= 0:
            self._spawn(spec, kwargs, ident, attempt)
            return
        loop = asyncio.get_running_loop()
        handle = loop.call_later(delay, self._spawn, spec, kwargs, ident, attempt)
        if ident is not None:
            self._timers[ident] = handle

    def _spawn(self, spec: JobSpec, kwargs: dict[str, Any], ident: str | None, attempt: int) -> None:
        if ident is not None:
            self._timers.pop(ident, None)
        task = asyncio.create_task(self._run(spec, kwargs, ident, attempt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, spec: JobSpec, kwargs: dict[str, Any], ident: str | None, attempt: int) -> None:
        async with self._sem:
            try:
                await asyncio.wait_for(spec.func(**kwargs), spec.timeout_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                if attempt > spec.retries:
                    log.exception("job %s failed after %d tries; giving up", spec.name, attempt)
                else:
                    delay = min(spec.backoff_seconds * 2 ** (attempt - 1), spec.max_backoff_seconds)
                    log.warning("job %s failed (try %d), retrying in %.1fs", spec.name, attempt, delay, exc_info=True)
                    self._schedule(spec, kwargs, ident, delay, attempt + 1)
                    return
        if ident is not None:
            self._pending.discard(ident)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until no job task is running (tests)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
