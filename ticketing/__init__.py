"""Conversation workflow: status, priority, tags, merging, routing rules, auto-assignment, canned
responses, macros, automation with signed webhooks, SLA clocks in business hours, CSAT and reports.

Ticketing only reacts to the hub's domain events (`ticketing.handlers`); the kernel never imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_404_NOT_FOUND

from hub.extension import Extension
from ticketing.actions import ActionError
from ticketing.business_hours import ScheduleError
from ticketing.reports import ReportError
from ticketing.rules import RuleError
from ticketing.service import ChangeRejected, NotFound

TEMPLATES = Path(__file__).parent / "templates"


def _bad_request(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response({"status_code": HTTP_400_BAD_REQUEST, "detail": str(exc)}, status_code=HTTP_400_BAD_REQUEST)


def _not_found(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response({"status_code": HTTP_404_NOT_FOUND, "detail": str(exc)}, status_code=HTTP_404_NOT_FOUND)


def _router() -> Router:
    from ticketing import api, csat_pages

    return Router(
        path="/",
        route_handlers=[
            api.ConversationWorkflowController,
            api.RoutingRuleController,
            api.BusinessHoursController,
            api.SlaPolicyController,
            api.CannedController,
            api.MacroController,
            api.AutomationController,
            api.AssignmentController,
            api.ReportController,
            csat_pages.csat_page,
            csat_pages.csat_submit,
        ],
        exception_handlers={
            ChangeRejected: _bad_request,
            RuleError: _bad_request,
            ActionError: _bad_request,
            ScheduleError: _bad_request,
            ReportError: _bad_request,
            NotFound: _not_found,
        },
    )


def setup() -> None:
    """Subscribe to the hub's events; importing the modules registers their jobs and sweepers."""
    from ticketing import handlers, sla, webhooks  # noqa: F401

    handlers.install()


async def _shutdown() -> None:
    from ticketing import webhooks

    await webhooks.close()


extension = Extension(
    name="ticketing",
    route_handlers=[_router()],
    setup=setup,
    on_shutdown=[_shutdown],
    template_dirs=[TEMPLATES],
)
