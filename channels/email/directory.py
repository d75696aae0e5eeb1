"""Which email inbox an address belongs to (support@acme.test, its aliases and plus-addresses).

The SMTP listener asks this for every RCPT TO, so the table of addresses is cached; a miss checks a cheap
fingerprint of the email inboxes (count, last update) and reloads when it changed, so a newly created or
edited inbox receives mail at once, while unknown recipients cost one small query.
"""

from __future__ import annotations

import logging
import time

import msgspec
from sqlalchemy import func, select

from channels.email.settings import EmailSettings, load_settings
from channels.email.tokens import split_plus
from hub.db import session_scope
from hub.inboxes import config_of
from hub.models import Inbox
from hub.outbound import InboxConfig

log = logging.getLogger("channels.email.directory")
TTL = 30.0

_table: dict[str, list[int]] = {}
_configs: dict[int, tuple[InboxConfig, EmailSettings]] = {}
_loaded_at = 0.0
_fingerprint: tuple[object, ...] = ()


async def _current_fingerprint() -> tuple[object, ...]:
    async with session_scope() as session:
        row = (
            await session.execute(
                select(func.count(Inbox.id), func.max(Inbox.updated_at), func.max(Inbox.id)).where(
                    Inbox.channel == "email"
                )
            )
        ).one()
    return tuple(row)


async def _refresh() -> None:
    global _table, _configs, _loaded_at, _fingerprint
    fingerprint = await _current_fingerprint()
    async with session_scope() as session:
        rows = (await session.execute(select(Inbox).where(Inbox.channel == "email", Inbox.active))).scalars().all()
        configs = [config_of(row) for row in rows]
    table: dict[str, list[int]] = {}
    found: dict[int, tuple[InboxConfig, EmailSettings]] = {}
    for config in configs:
        try:
            settings = load_settings(config.settings)
        except msgspec.ValidationError as exc:
            log.warning("email inbox %s has invalid settings (%s); it receives no mail", config.id, exc)
            continue
        found[config.id] = (config, settings)
        for address in (settings.address, *settings.aliases):
            table.setdefault(address, []).append(config.id)
    _table, _configs, _loaded_at, _fingerprint = table, found, time.monotonic(), fingerprint


def _match(address: str) -> list[int]:
    local, _, domain = split_plus(address)
    base = f"{local}@{domain}"
    exact = address.strip().strip("<>").lower()
    return list(dict.fromkeys([*_table.get(exact, []), *_table.get(base, [])]))


async def inboxes_for(address: str) -> list[tuple[InboxConfig, EmailSettings]]:
    """Active email inboxes that accept mail for `address` (usually one)."""
    refreshed = False
    if time.monotonic() - _loaded_at > TTL:
        await _refresh()
        refreshed = True
    ids = _match(address)
    if not ids and not refreshed:
        if await _current_fingerprint() != _fingerprint:
            await _refresh()
        ids = _match(address)  # again: a concurrent look-up may have reloaded the table meanwhile
    return [_configs[i] for i in ids if i in _configs]


def invalidate() -> None:
    global _loaded_at
    _loaded_at = 0.0
