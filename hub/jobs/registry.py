"""Job registration and the `enqueue` entry point shared by both queue backends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

JobFunc = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    retries: int = 8
    backoff_seconds: float = 1.0  # doubled after every failed try, capped at max_backoff_seconds
    max_backoff_seconds: float = 300.0
    timeout_seconds: float = 120.0


class Queue(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def enqueue(self, spec: JobSpec, kwargs: dict[str, Any], key: str | None, at: datetime | None) -> None: ...


_jobs: dict[str, JobSpec] = {}
_sweepers: list[Callable[[], Awaitable[None]]] = []
_queue: Queue | None = None


def job(
    name: str | None = None, *, retries: int = 8, backoff_seconds: float = 1.0, timeout_seconds: float = 120.0
) -> Callable[[JobFunc], JobFunc]:
    def register(func: JobFunc) -> JobFunc:
        spec_name = name or f"{func.__module__}.{func.__qualname__}"
        _jobs[spec_name] = JobSpec(
            spec_name, func, retries=retries, backoff_seconds=backoff_seconds, timeout_seconds=timeout_seconds
        )
        return func

    return register


def sweeper(func: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A recovery pass run when a runner starts and then every minute: re-enqueue what the DB says is due."""
    if func not in _sweepers:
        _sweepers.append(func)
    return func


def registered_jobs() -> dict[str, JobSpec]:
    return dict(_jobs)


def sweepers() -> list[Callable[[], Awaitable[None]]]:
    return list(_sweepers)


def set_queue(queue: Queue | None) -> None:
    global _queue
    _queue = queue


def get_queue() -> Queue:
    if _queue is None:
        raise RuntimeError("No job queue is running; the app's lifespan or `hub worker` starts one.")
    return _queue


async def enqueue(name: str, *, key: str | None = None, at: datetime | None = None, **kwargs: Any) -> None:
    """Queue job `name`. A `key` makes it unique while queued: enqueueing the same key twice runs it once."""
    spec = _jobs.get(name)
    if spec is None:
        raise KeyError(f"unknown job {name!r}; is the module that defines it imported?")
    await get_queue().enqueue(spec, kwargs, key, at)
