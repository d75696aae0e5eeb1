"""Service-level failures with a message for the person who made the request.

Services raise these instead of HTTP exceptions so they can be called from jobs, the CLI or the web UI;
the API router maps each class to its status code.
"""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Invalid(ServiceError):
    """The request cannot be carried out as given (400)."""

    status_code = 400


class Forbidden(ServiceError):
    """The caller is known but may not do this (403)."""

    status_code = 403


class NotFound(ServiceError):
    """Unknown, or not visible to the caller: the two are deliberately indistinguishable (404)."""

    status_code = 404


class Conflict(ServiceError):
    """The request clashes with existing data, e.g. a duplicate email (409)."""

    status_code = 409
