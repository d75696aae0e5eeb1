"""The authenticated user as request handlers see it, with the inbox access it implies."""

from __future__ import annotations

import msgspec

ROLE_RANK = {"agent": 1, "manager": 2, "admin": 3}


class Principal(msgspec.Struct, frozen=True):
    id: int
    email: str
    name: str
    role: str
    # None means every inbox (admins and managers); agents see the inboxes they are members of.
    inbox_ids: frozenset[int] | None
    team_ids: frozenset[int] = frozenset()
    via: str = "session"  # or "token"

    def at_least(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]

    def can_see_inbox(self, inbox_id: int) -> bool:
        return self.inbox_ids is None or inbox_id in self.inbox_ids
