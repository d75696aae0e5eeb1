"""A short-lived cache of principals, so an authenticated request costs no database round trip.

Any write this process makes to users, memberships, inboxes or tokens clears it at once (SQLAlchemy
session events); other web processes see such changes within `TTL` seconds.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from hub.auth.principal import Principal
from hub.models import ApiToken, Inbox, InboxMember, TeamMember, User

TTL = 3.0
_WATCHED = (User, InboxMember, TeamMember, ApiToken, Inbox)
_WATCHED_TABLES = {m.__tablename__ for m in _WATCHED}
_entries: dict[tuple[Any, ...], tuple[float, Principal | None]] = {}


def get(key: tuple[Any, ...]) -> tuple[bool, Principal | None]:
    hit = _entries.get(key)
    if hit is None or hit[0] < time.monotonic():
        return False, None
    return True, hit[1]


def put(key: tuple[Any, ...], principal: Principal | None) -> None:
    if len(_entries) > 10_000:
        _entries.clear()
    _entries[key] = (time.monotonic() + TTL, principal)


def clear() -> None:
    _entries.clear()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _WATCHED):
            clear()
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in _WATCHED_TABLES:
            clear()
