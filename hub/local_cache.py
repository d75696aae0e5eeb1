"""Short-lived per-process caches of rarely written rows that hot paths read on every request or event.

Any write this process makes to a watched table clears the cache at once (SQLAlchemy session events, for
unit-of-work flushes and bulk statements alike); other processes see the change within the cache's TTL.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

V = TypeVar("V")
_caches: weakref.WeakSet[LocalCache[Any]] = weakref.WeakSet()
_MISS = object()


class LocalCache(Generic[V]):
    def __init__(self, *tables: str, ttl: float = 3.0, max_entries: int = 10_000) -> None:
        self.tables = frozenset(tables)
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        _caches.add(self)

    def get(self, key: Hashable) -> tuple[bool, V | None]:
        """(found, value): a cached None is a hit, so "no such row" is remembered too."""
        hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: Hashable, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        self._entries.clear()


def _clear_for(table_names: set[str]) -> None:
    for cache in list(_caches):
        if cache.tables & table_names:
            cache.clear()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: Any) -> None:
    names = {
        getattr(getattr(obj, "__table__", None), "name", "") for obj in (*session.new, *session.dirty, *session.deleted)
    }
    if names:
        _clear_for(names)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        name = getattr(getattr(state.statement, "table", None), "name", None)
        if name:
            _clear_for({name})
