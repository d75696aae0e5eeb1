"""Which email inbox an address belongs to (support@acme.test, its aliases and plus-addresses).

The SMTP listener asks this for every RCPT TO, so the table of addresses is cached for a few seconds; a
miss refreshes it at once (rate-limited), so a newly created inbox receives mail without a restart.
"""

from __future__ import annotations

import logging
import time

import msgspec
from sqlalchemy import select

from channels.email.settings import EmailSettings, load_settings
from channels.email.tokens import split_plus
from hub.db import session_scope
from hub.inboxes import config_of
from hub.models import Inbox
from hub.outbound import InboxConfig

log = logging.getLogger("channels.email.directory")
TTL = 10.0
MISS_REFRESH = 0.25

_table: dict[str, list[int]] = {}
_configs: dict[int, tuple[InboxConfig, EmailSettings]] = {}
_loaded_at = 0.0


async def _refresh() -> None:
    global _table, _configs, _loaded_at
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
    _table, _configs, _loaded_at = table, found, time.monotonic()


def _match(address: str) -> list[int]:
    local, _, domain = split_plus(address)
    base = f"{local}@{domain}"
    exact = address.strip().strip("<>").lower()
    return list(dict.fromkeys([*_table.get(exact, []), *_table.get(base, [])]))


async def inboxes_for(address: str) -> list[tuple[InboxConfig, EmailSettings]]:
    """Active email inboxes that accept mail for `address` (usually one)."""
    age = time.monotonic() - _loaded_at
    if age > TTL:
        await _refresh()
        age = 0.0
    ids = _match(address)
    if not ids and age > MISS_REFRESH:
        await _refresh()
        ids = _match(address)
    return [_configs[i] for i in ids if i in _configs]


def invalidate() -> None:
    global _loaded_at
    _loaded_at = 0.0
