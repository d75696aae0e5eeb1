"""Server-rendered dashboard pages; the chart data is embedded as JSON so the first paint needs no extra
request, and the live panel is an htmx fragment polled every few seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Redirect, Template

from hub.auth.guards import requires_manager
from hub.db import session_scope
from ticketing import live, reports

RANGES = (7, 30, 90)


def _to_login(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if request.headers.get("hx-request") == "true":
        return Response(content="", status_code=401, headers={"HX-Redirect": "/login?next=/dashboard"})
    return Redirect("/login?next=/dashboard")


def _forbidden(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Template("dashboard/forbidden.html", status_code=403)


def series(report: dict[str, Any], start: datetime, days: int) -> dict[str, Any]:
    """One point per day (empty days included) for the charts; durations in minutes."""
    by_day = {row["key"]: row for row in report["rows"]}
    labels: list[str] = []
    out: dict[str, list[Any]] = {
        k: []
        for k in (
            "conversations",
            "resolved",
            "frt_median",
            "frt_p90",
            "frt_bh_median",
            "nrt_median",
            "res_median",
            "res_p90",
            "res_bh_median",
            "sla",
            "csat",
        )
    }

    def minutes(value: float | None) -> float | None:
        return round(value / 60, 2) if value is not None else None

    for i in range(days):
        day = (start + timedelta(days=i)).date().isoformat()
        labels.append(day)
        row = by_day.get(day)
        if row is None:
            for values in out.values():
                values.append(0 if values is out["conversations"] or values is out["resolved"] else None)
            continue
        out["conversations"].append(row["conversations"])
        out["resolved"].append(row["resolved"])
        out["frt_median"].append(minutes(row["first_response"]["median"]))
        out["frt_p90"].append(minutes(row["first_response"]["p90"]))
        out["frt_bh_median"].append(minutes(row["first_response_bh"]["median"]))
        out["nrt_median"].append(minutes(row["next_response"]["median"]))
        out["res_median"].append(minutes(row["resolution"]["median"]))
        out["res_p90"].append(minutes(row["resolution"]["p90"]))
        out["res_bh_median"].append(minutes(row["resolution_bh"]["median"]))
        sla = row["sla"]["compliance"]
        out["sla"].append(round(sla * 100, 1) if sla is not None else None)
        out["csat"].append(round(row["csat"]["average"], 2) if row["csat"]["average"] is not None else None)
    return {"labels": labels, **out}


class DashboardPages(Controller):
    path = "/dashboard"
    guards = [requires_manager]
    include_in_schema = False
    exception_handlers = {NotAuthorizedException: _to_login, PermissionDeniedException: _forbidden}

    @get("/")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        days: Annotated[int, Parameter(description="How many days back (7, 30 or 90)")] = 30,
    ) -> Template:
        days = days if days in RANGES else 30
        today = datetime.now(UTC).date()
        first = today - timedelta(days=days - 1)
        async with session_scope() as session:
            daily = await reports.run(session, reports.ReportQuery.build(first, today, "day"))
            overall = await reports.run(session, reports.ReportQuery.build(first, today, "none"))
            by_agent = await reports.run(session, reports.ReportQuery.build(first, today, "agent"))
            by_team = await reports.run(session, reports.ReportQuery.build(first, today, "team"))
            by_channel = await reports.run(session, reports.ReportQuery.build(first, today, "channel"))
        start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        return Template(
            "dashboard/index.html",
            context={
                "days": days,
                "ranges": RANGES,
                "first": first.isoformat(),
                "last": today.isoformat(),
                "chart_data": series(daily, start, days),
                "overall": overall["rows"][0] if overall["rows"] else None,
                "breakdowns": [("Agent", by_agent["rows"]), ("Team", by_team["rows"]), ("Channel", by_channel["rows"])],
                "user": request.user,
            },
        )

    @get("/live")
    async def live_panel(self) -> Template:
        """The live panel fragment (htmx polls it)."""
        async with session_scope() as session:
            state = await live.snapshot(session, limit=10)
        return Template("dashboard/_live.html", context={"live": state})
