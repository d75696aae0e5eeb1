"""The managers' dashboard `/dashboard`: charts of the report metrics over time (Chart.js) and a live panel
of open, unassigned and breaching conversations refreshed by htmx polling. Figures come from
`ticketing.reports`; their definitions are in docs/metrics.md."""

from pathlib import Path

from hub.extension import Extension
from web.dashboard.pages import DashboardPages

HERE = Path(__file__).parent

extension = Extension(
    name="web-dashboard",
    route_handlers=[DashboardPages],
    template_dirs=[HERE / "templates"],
    static_dirs={"/static/dashboard": HERE / "static"},
)
