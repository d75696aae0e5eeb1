"""Role guards, attached to every controller; the permission tests walk each route through them."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from hub.auth.principal import Principal


def _role_guard(role: str) -> Any:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.user
        if not isinstance(user, Principal) or not user.at_least(role):
            raise PermissionDeniedException(f"This needs the {role} role or higher.")

    guard.__name__ = f"requires_{role}"
    return guard


requires_agent = _role_guard("agent")
requires_manager = _role_guard("manager")
requires_admin = _role_guard("admin")
