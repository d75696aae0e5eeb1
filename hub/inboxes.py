"""Inbox look-ups for channels: by id or public token, with a short cache because every webhook needs one."""

from __future__ import annotations

import time

from sqlalchemy import select

from hub.db import session_scope
from hub.models import Inbox
from hub.outbound import InboxConfig

_TTL = 5.0
_cache: dict[str, tuple[float, InboxConfig | None]] = {}


class UnknownInbox(LookupError):
    pass


def config_of(inbox: Inbox) -> InboxConfig:
    return InboxConfig(
        id=inbox.id,
        name=inbox.name,
        channel=inbox.channel,
        public_token=inbox.public_token,
        settings=dict(inbox.settings or {}),
        credentials=dict(inbox.credentials or {}),
        team_id=inbox.team_id,
        time_zone=inbox.time_zone,
        active=inbox.active,
    )


async def get_inbox_config(ref: str | int, channel: str | None = None) -> InboxConfig:
    """`ref` is an inbox id or its public token. Raises UnknownInbox (a 404 for webhooks)."""
    key = str(ref)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        config = hit[1]
    else:
        async with session_scope() as session:
            query = select(Inbox)
            if isinstance(ref, int) or key.isdigit():
                query = query.where(Inbox.id == int(key))
            else:
                query = query.where(Inbox.public_token == key)
            inbox = (await session.execute(query)).scalar_one_or_none()
            config = config_of(inbox) if inbox is not None else None
        _cache[key] = (now + _TTL, config)
    if config is None or not config.active or (channel is not None and config.channel != channel):
        raise UnknownInbox(f"No active {channel or ''} inbox {ref!r}; check the webhook URL.".replace("  ", " "))
    return config


def invalidate(inbox_id: int | None = None) -> None:
    """Called when an inbox is saved so this process sees new credentials at once."""
    _cache.clear()
