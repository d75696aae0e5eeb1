"""Domain events -> realtime topics. Each event is encoded once, whatever the number of listeners."""

from __future__ import annotations

import msgspec

from hub import events
from hub.events import DomainEvent
from hub.realtime import get_broker

_encoder = msgspec.json.Encoder()


def topics_for(event: DomainEvent) -> list[str]:
    topics: list[str] = []
    if event.inbox_id is not None:
        topics.append(f"inbox:{event.inbox_id}")
    if event.conversation_id is not None:
        topics.append(f"conversation:{event.conversation_id}")
    if event.user_id is not None and event.name in ("presence", "notification"):
        topics.append(f"agent:{event.user_id}")
    if event.name in ("presence",):
        topics.append("presence")
    return topics


async def publish(event: DomainEvent) -> None:
    topics = topics_for(event)
    if not topics:
        return
    payload = _encoder.encode(
        {
            "event": event.name,
            "inbox_id": event.inbox_id,
            "conversation_id": event.conversation_id,
            "data": event.data,
        }
    )
    broker = get_broker()
    for topic in topics:
        await broker.publish(topic, payload)


def install() -> None:
    events.subscribe("*", publish)
