"""`/api/v1/attachments/{id}`: the stored bytes, as a download, for whoever may see the inbox."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get

from hub.api.params import id_param, principal
from hub.auth.guards import requires_agent
from hub.services.attachments import read_attachment

_MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")


def content_disposition(filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename).strip() or "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@get(
    "/attachments/{attachment_id:int}",
    guards=[requires_agent],
    tags=["attachments"],
    summary="Download an attachment",
    media_type="application/octet-stream",
)
async def download_attachment(
    request: Request[Any, Any, Any], attachment_id: Annotated[int, id_param("attachment")]
) -> Response[bytes]:
    """Always a download (never rendered inline), with the stored content type and `nosniff`."""
    found = await read_attachment(principal(request), attachment_id)
    media_type = found.content_type if _MEDIA_TYPE.match(found.content_type) else "application/octet-stream"
    return Response(
        content=found.data,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(found.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=0",
        },
    )
