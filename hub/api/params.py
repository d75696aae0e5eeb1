"""Parameter markers shared by the API controllers, and the router-wide mapping of service errors."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import SerializationException
from litestar.exceptions.responses import create_exception_response
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


def bad_request_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A body that is not JSON at all gets a sentence a person can act on; other 400s keep their shape."""
    cause = exc.__cause__
    if isinstance(cause, SerializationException) and isinstance(cause.__cause__, msgspec.DecodeError):
        detail = f"The request body is not valid JSON ({cause}); send a JSON object as described at /schema."
        return Response({"status_code": 400, "detail": detail}, status_code=400)
    return create_exception_response(request, exc)


def service_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, ServiceError)
    return Response({"status_code": exc.status_code, "detail": exc.detail}, status_code=exc.status_code)
