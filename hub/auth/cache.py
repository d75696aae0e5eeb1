"""A short-lived cache of principals, so an authenticated request costs no database round trip.

Any write this process commits to users, memberships, inboxes or tokens clears it at once; other web
processes see such changes within the TTL (see `hub.local_cache`).
"""

from __future__ import annotations

from hub.auth.principal import Principal
from hub.local_cache import LocalCache
from hub.models import ApiToken, Inbox, InboxMember, TeamMember, User

principals: LocalCache[Principal | None] = LocalCache(
    *(m.__tablename__ for m in (User, InboxMember, TeamMember, ApiToken, Inbox)), ttl=3.0
)
