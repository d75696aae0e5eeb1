"""Cookie sessions that exist only once someone signs in, with a fresh id at every sign-in.

Litestar's server-side backend stores a fresh, empty session (and sets its cookie) on every response to a
request that came without one, so each webhook, API call and health check would leave a 14-day entry in the
session store and cost a store write. Here a response carries a session only when the request brought one or
the handler put something in it; signing out still deletes the stored session and expires the cookie.

The backend also keeps using whatever id the browser's cookie holds, so a session id planted before sign-in
(session fixation) would become a signed-in one. `rotate` asks for a new id: the old entry is deleted and the
cookie replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Message, ScopeSession

_ROTATE = "hub_session_rotate"
_NEW_ID = "hub_session_new_id"


def rotate(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Give this connection's session a new id when the response is sent (call it at sign-in)."""
    connection.state[_ROTATE] = True


class SignedInOnlyBackend(ServerSideSessionBackend):
    def _cookie_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        value = connection.cookies.get(self.config.key)
        return value if value and value != "null" else None

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        new_id = connection.state.get(_NEW_ID)
        return str(new_id) if new_id else super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        old_id = self._cookie_id(connection)
        if not scope_session and old_id is None:
            return
        if connection.state.get(_ROTATE) and not connection.state.get(_NEW_ID):
            if old_id is not None:
                await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            connection.state[_NEW_ID] = self.generate_session_id()
        await super().store_in_message(scope_session, message, connection)


@dataclass
class SessionConfig(ServerSideSessionConfig):
    _backend_class = SignedInOnlyBackend
