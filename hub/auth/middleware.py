"""Authentication for /api and /ws/agent and the agent pages.

Browser requests carry the session cookie; any state-changing request made with it must also carry the
session's CSRF token in `X-CSRF-Token` (or a `csrf_token` form field), so another site cannot forge it.
Bearer tokens are not sent automatically by browsers, so they need no CSRF token.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from hub.auth.lookup import principal_for_token, principal_for_user

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "x-csrf-token"


def csrf_token_for(session: dict[str, Any]) -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            principal = await principal_for_token(header[7:].strip())
            if principal is None:
                raise NotAuthorizedException("The bearer token is unknown or revoked; create a new one in Settings.")
            return AuthenticationResult(user=principal, auth="token")
        raw_session = connection.scope.get("session")
        session: dict[str, Any] = raw_session if isinstance(raw_session, dict) else {}
        user_id = session.get("user_id")
        if not user_id:
            raise NotAuthorizedException("Sign in first, or send an Authorization: Bearer <token> header.")
        principal = await principal_for_user(int(user_id))
        if principal is None:
            raise NotAuthorizedException("Your account is disabled or no longer exists; ask an admin.")
        if connection.scope["type"] == "http":
            method = connection.scope.get("method", "GET")
            if method not in SAFE_METHODS:
                sent = connection.headers.get(CSRF_HEADER)
                expected = session.get("csrf")
                if not sent or not expected or not secrets.compare_digest(str(sent), str(expected)):
                    raise PermissionDeniedException(
                        "Missing or wrong CSRF token: reload the page and try again "
                        "(API clients should use a bearer token)."
                    )
        else:
            origin = connection.headers.get("origin")
            host = connection.headers.get("host")
            if origin and host and origin.split("://", 1)[-1] != host:
                raise PermissionDeniedException("Cross-site websocket connections are not allowed.")
        return AuthenticationResult(user=principal, auth="session")
