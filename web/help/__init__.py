"""The public help center (`/help`, `/sitemap.xml`, `/robots.txt`) and the agents' knowledge-base
management page (`/app/kb`). Content and rules come from the `knowledge_base` package."""

from pathlib import Path

from hub.extension import Extension
from web.help.manage import ROUTES as MANAGE_ROUTES
from web.help.pages import ROUTES as PAGE_ROUTES

HERE = Path(__file__).parent

extension = Extension(
    name="help",
    route_handlers=[*PAGE_ROUTES, *MANAGE_ROUTES],
    template_dirs=[HERE / "templates"],
    static_dirs={"/static/help": HERE / "static"},
)
