"""Parameter markers shared by the API controllers, and the router-wide mapping of service errors."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response
from litestar.params import Parameter

from hub.auth.principal import Principal
from hub.services.errors import ServiceError

MAX_ID = 2**62

Limit = Annotated[int, Parameter(ge=1, le=100, description="Items per page (1-100).")]
Cursor = Annotated[
    str | None,
    Parameter(max_length=512, description="Opaque `next_cursor` from the previous page; omit for the first page."),
]


def id_param(what: str) -> Any:
    return Parameter(ge=1, le=MAX_ID, description=f"The {what}'s id.")


def principal(request: Request[Any, Any, Any]) -> Principal:
    user = request.user
    assert isinstance(user, Principal)
    return user


def service_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, ServiceError)
    return Response({"status_code": exc.status_code, "detail": exc.detail}, status_code=exc.status_code)
