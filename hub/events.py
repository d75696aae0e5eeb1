"""Domain events: the kernel announces what happened; ticketing, realtime, search and webhooks listen.

Subscribers run after the transaction that produced the event has committed, so they never see state that
could still roll back. A failing subscriber is logged and never breaks the caller or other subscribers.

Inline subscribers (realtime fan-out) finish before `emit` returns. Background subscribers (workflow,
reports) run on a per-process task in emission order, so a webhook answers its provider as soon as the
message is stored and fanned out; `drain()` waits for them (tests, shutdown).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec

log = logging.getLogger("hub.events")


class DomainEvent(msgspec.Struct, kw_only=True):
    name: str  # message.created, message.updated, conversation.created, conversation.updated, ...
    data: dict[str, Any]
    inbox_id: int | None = None
    conversation_id: int | None = None
    contact_id: int | None = None
    user_id: int | None = None


Subscriber = Callable[[DomainEvent], Awaitable[None]]

_subscribers: dict[str, list[Subscriber]] = defaultdict(list)
_background: dict[str, list[Subscriber]] = defaultdict(list)
_queue: asyncio.Queue[DomainEvent] | None = None
_worker: asyncio.Task[None] | None = None


def subscribe(name: str, handler: Subscriber, *, background: bool = False) -> None:
    """`name` is an event name, or "*" for every event."""
    table = _background if background else _subscribers
    if handler not in table[name]:
        table[name].append(handler)


def unsubscribe_all() -> None:
    global _worker, _queue
    _subscribers.clear()
    _background.clear()
    if _worker is not None:
        _worker.cancel()
    _worker = None
    _queue = None


async def _background_loop(queue: asyncio.Queue[DomainEvent]) -> None:
    while True:
        event = await queue.get()
        try:
            for handler in [*_background.get(event.name, ()), *_background.get("*", ())]:
                await _run(handler, event)
        finally:
            queue.task_done()


def _enqueue_background(event: DomainEvent) -> None:
    global _queue, _worker
    if not (_background.get(event.name) or _background.get("*")):
        return
    if _queue is None or _worker is None or _worker.done():
        _queue = asyncio.Queue()
        _worker = asyncio.create_task(_background_loop(_queue), name="events-background")
    _queue.put_nowait(event)


async def drain() -> None:
    """Wait until every background subscriber has handled every event emitted so far."""
    if _queue is not None:
        await _queue.join()


async def _run(handler: Subscriber, event: DomainEvent) -> None:
    try:
        await handler(event)
    except Exception:
        log.exception("subscriber %s failed on %s", getattr(handler, "__qualname__", handler), event.name)


async def emit(events: DomainEvent | Iterable[DomainEvent]) -> None:
    batch = [events] if isinstance(events, DomainEvent) else list(events)
    for event in batch:
        handlers = [*_subscribers.get(event.name, ()), *_subscribers.get("*", ())]
        if len(handlers) == 1:
            await _run(handlers[0], event)
        elif handlers:
            await asyncio.gather(*(_run(h, event) for h in handlers))
        _enqueue_background(event)
