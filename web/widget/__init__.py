"""The embeddable chat widget: `GET /widget.js`, one plain script (no framework) that renders in a shadow
root on any site. It talks to the chat channel's endpoints (`/api/v1/widget/*`, `/ws/widget`)."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get

from hub.extension import Extension

SCRIPT = Path(__file__).parent / "static" / "widget.js"


@get("/widget.js", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
def widget_js() -> Response[bytes]:
    """Short cache so a deploy reaches every site within minutes; gzip comes from the app's compression."""
    return Response(
        SCRIPT.read_bytes(),
        media_type="application/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
        },
    )


extension = Extension(name="web-widget", route_handlers=[widget_js])
