"""Inbox look-ups for channels: by id or public token, with a short cache because every webhook needs one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar.exceptions import HTTPException, NotFoundException
from sqlalchemy import select

from hub.db import session_scope
from hub.local_cache import LocalCache
from hub.models import Inbox
from hub.outbound import InboxConfig

_cache: LocalCache[InboxConfig | None] = LocalCache(Inbox.__tablename__, ttl=5.0)
_in_flight: dict[str, asyncio.Future[InboxConfig | None]] = {}
S = TypeVar("S", bound=msgspec.Struct)


class UnknownInbox(LookupError):
    pass


class Misconfigured(ValueError):
    """The inbox's stored settings or credentials are incomplete; an admin must fix them."""


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
    found, config = _cache.get(key)
    if not found:
        # One look-up per key at a time: when the entry expires under load, the burst of webhooks waiting
        # for it shares a single query instead of each taking a database connection.
        flight = _in_flight.get(key)
        if flight is None:
            flight = _in_flight[key] = asyncio.ensure_future(_load(key))
            flight.add_done_callback(lambda _f: _in_flight.pop(key, None))
        config = await asyncio.shield(flight)
    if config is None or not config.active or (channel is not None and config.channel != channel):
        raise UnknownInbox(f"No active {channel or ''} inbox {ref!r}; check the webhook URL.".replace("  ", " "))
    return config


async def _load(key: str) -> InboxConfig | None:
    async with session_scope() as session:
        query = select(Inbox)
        query = query.where(Inbox.id == int(key)) if key.isdigit() else query.where(Inbox.public_token == key)
        inbox = (await session.execute(query)).scalar_one_or_none()
        config = config_of(inbox) if inbox is not None else None
    _cache.put(key, config)
    return config


def invalidate(inbox_id: int | None = None) -> None:
    """Called when an inbox is saved so this process sees new credentials at once (a commit clears it too)."""
    _cache.clear()


def read_stored(kind: type[S], raw: dict[str, Any], *, label: str) -> S:
    """A channel's settings or credentials struct from what the inbox stored, read leniently: keys this
    version does not know are ignored, not fatal at runtime. Raises Misconfigured naming the `label`ed inbox."""
    known = set(kind.__struct_fields__)
    try:
        return msgspec.convert({k: v for k, v in raw.items() if k in known}, kind)
    except msgspec.ValidationError as exc:
        what = "credentials" if kind.__name__.endswith("Credentials") else "settings"
        raise Misconfigured(
            f"the {label} inbox's {what} are incomplete or invalid ({exc}); fix them in the inbox settings"
        ) from exc


async def webhook_inbox(ref: str, channel: str, *, check: Callable[[InboxConfig], object]) -> InboxConfig:
    """The inbox a provider's webhook URL names: 404 when there is no such active `channel` inbox, 503 when
    `check` finds its stored config incomplete (the provider retries later, by when an admin may have fixed it)."""
    try:
        config = await get_inbox_config(ref, channel=channel)
    except UnknownInbox as exc:
        raise NotFoundException(str(exc)) from exc
    try:
        check(config)
    except Misconfigured as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return config
