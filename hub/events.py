"""Domain events: the kernel announces what happened; ticketing, realtime, search and webhooks listen.

Subscribers run after the transaction that produced the event has committed, so they never see state that
could still roll back. A failing subscriber is logged and never breaks the caller or other subscribers.
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


def subscribe(name: str, handler: Subscriber) -> None:
    """`name` is an event name, or "*" for every event."""
    if handler not in _subscribers[name]:
        _subscribers[name].append(handler)


def unsubscribe_all() -> None:
    _subscribers.clear()


async def _run(handler: Subscriber, event: DomainEvent) -> None:
    try:
        await handler(event)
    except Exception:
        log.exception("subscriber %s failed on %s", getattr(handler, "__qualname__", handler), event.name)


async def emit(events: DomainEvent | Iterable[DomainEvent]) -> None:
    batch = [events] if isinstance(events, DomainEvent) else list(events)
    for event in batch:
        handlers = [*_subscribers.get(event.name, ()), *_subscribers.get("*", ())]
        if handlers:
            await asyncio.gather(*(_run(h, event) for h in handlers))
