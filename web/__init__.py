"""What a browser gets. Shared layout and vendor assets live here; each area (inbox, widget, help,
dashboard) is its own sub-package with its own `extension`, listed in the composition root."""

from pathlib import Path

from litestar import Response, get
from litestar.exceptions import NotFoundException

from hub.extension import Extension

WEB = Path(__file__).parent
TEMPLATES = WEB / "templates"
NODE_MODULES = WEB / "node_modules"

# Vendor files served from the npm install (web/package-lock.json), never pasted into the repo.
VENDOR = {
    "htmx.min.js": NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js",
    "chart.umd.min.js": NODE_MODULES / "chart.js" / "dist" / "chart.umd.min.js",
}


@get("/static/vendor/{name:str}", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
def vendor(name: str) -> Response[bytes]:
    path = VENDOR.get(name)
    if path is None or not path.exists():
        raise NotFoundException(f"No vendor asset {name!r}; run `npm ci` in web/ (scripts/setup does).")
    return Response(
        path.read_bytes(),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


extension = Extension(
    name="web",
    route_handlers=[vendor],
    template_dirs=[TEMPLATES],
    static_dirs={"/static/web": WEB / "static"},
)
