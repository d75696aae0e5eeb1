"""A short-lived cache of principals, so an authenticated request costs no database round trip.

Any write this process makes to users, memberships, inboxes or tokens clears it at once; other web
processes see such changes within the TTL (see `hub.local_cache`).
"""

from __future__ import annotations

from collections.abc import Hashable

from hub.auth.principal import Principal
from hub.local_cache import LocalCache
from hub.models import ApiToken, Inbox, InboxMember, TeamMember, User

TTL = 3.0
_cache: LocalCache[Principal | None] = LocalCache(
    *(m.__tablename__ for m in (User, InboxMember, TeamMember, ApiToken, Inbox)), ttl=TTL
)
get = _cache.get


def put(key: Hashable, principal: Principal | None) -> None:
    _cache.put(key, principal)


def clear() -> None:
    _cache.clear()
