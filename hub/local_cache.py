"""Short-lived per-process caches of rarely written rows that hot paths read on every request or event.

Any write this process commits to a watched table clears the cache (SQLAlchemy session events note the
tables a transaction wrote, by unit-of-work flush or bulk statement, and clear on commit: clearing at the
write itself would let a reader between write and commit cache the old row again). Other processes see the
change within the cache's TTL.
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
_TOUCHED = "hub_local_cache_tables"


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


def _touch(session: Session, names: set[str]) -> None:
    session.info.setdefault(_TOUCHED, set()).update(names)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: Any) -> None:
    names = {
        getattr(getattr(obj, "__table__", None), "name", "") for obj in (*session.new, *session.dirty, *session.deleted)
    }
    names.discard("")
    if names:
        _touch(session, names)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        name = getattr(getattr(state.statement, "table", None), "name", None)
        if name:
            _touch(state.session, {name})


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    names = session.info.pop(_TOUCHED, None)
    if names:
        _clear_for(names)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
