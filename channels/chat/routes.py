"""The widget's HTTP endpoints (public; the inbox token or the visitor token authenticates).

The widget calls them cross-origin from the host page without cookies, as CORS "simple" requests
(text/plain JSON, multipart form), so no preflight is needed; answers carry Access-Control-Allow-Origin.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter

from channels.chat import ratelimit, service
from channels.chat.service import ChatError, SessionRequest
from hub.inbound import InboundAttachment
from hub.ingest import IngestRejected

UPLOAD_CEILING = 26_214_400  # no inbox may accept more per upload than this


def _cors(request: Request[Any, Any, Any]) -> dict[str, str]:
    origin = request.headers.get("origin")
    return {"Access-Control-Allow-Origin": origin or "*", "Vary": "Origin"}


def _error(request: Request[Any, Any, Any], exc: ChatError, retry_after: float | None = None) -> Response[Any]:
    headers = _cors(request)
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return Response(
        {"status_code": exc.status, "code": exc.code, "detail": exc.detail},
        status_code=exc.status,
        headers=headers,
    )


def _ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def _limit(request: Request[Any, Any, Any], *limits: tuple[str, int]) -> float | None:
    return await ratelimit.check(getattr(request.app.state, "settings", None), *limits)


def _too_many(request: Request[Any, Any, Any], wait: float) -> Response[Any]:
    seconds = max(1, round(wait))
    return _error(
        request,
        ChatError(f"Too many requests; please wait {seconds} s and try again.", status=429, code="rate_limited"),
        seconds,
    )


@post("/api/v1/widget/session", opt={"public": True}, status_code=200, tags=["widget"])
async def widget_session(request: Request[Any, Any, Any]) -> Response[Any]:
    """Start or continue a visitor session. Body (JSON, any content type): `inbox` (public token),
    optional `token` (earlier visitor token), `identity` {email, name, phone} and `identity_hmac`
    = hex HMAC-SHA256(identity secret, email) computed by your backend, which marks the visitor verified."""
    try:
        body = msgspec.json.decode(await request.body(), type=SessionRequest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return _error(request, ChatError(f"The session request is not valid JSON of the expected shape: {exc}."))
    try:
        inbox = await service.chat_inbox(body.inbox)
        settings = service.chat_settings(inbox.settings)
        service.check_origin(settings, request.headers.get("origin"))
        wait = await _limit(request, (f"session-ip:{inbox.id}:{_ip(request)}", settings.sessions_per_ip_per_minute))
        if wait is not None:
            return _too_many(request, wait)
        result = await service.start_session(body, request.headers.get("origin"))
    except ChatError as exc:
        return _error(request, exc)
    return Response(result, headers=_cors(request))


@post(
    "/api/v1/widget/attachments",
    opt={"public": True},
    status_code=201,
    tags=["widget"],
    request_max_body_size=UPLOAD_CEILING,
)
async def widget_upload(request: Request[Any, Any, Any]) -> Response[Any]:
    """Send a file (multipart form: `token`, `file`, `client_id`, optional `text`) as a visitor message."""
    try:
        form = await request.form()
        visitor = await service.visitor_from_token(str(form.get("token") or ""))
        service.check_origin(visitor.settings, request.headers.get("origin"))
        s = visitor.settings
        wait = await _limit(
            request,
            (f"v:{visitor.visitor_id}", s.visitor_per_minute),
            (f"ip:{visitor.inbox.id}:{_ip(request)}", s.ip_per_minute),
        )
        if wait is not None:
            return _too_many(request, wait)
        client_id = service.check_client_id(form.get("client_id"))
        text = service.check_text(form.get("text") or "", allow_empty=True)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ChatError("Attach the file in a form field named 'file'.")
        ctype = (upload.content_type or "application/octet-stream").split(";")[0].strip().lower()
        if ctype not in s.attachment_types:
            raise ChatError(
                f"Files of type {ctype} can't be sent here; allowed: {', '.join(s.attachment_types)}.",
                status=415,
                code="unsupported_type",
            )
        data = await upload.read(s.max_attachment_bytes + 1)
        if len(data) > s.max_attachment_bytes:
            raise ChatError(
                f"The file is larger than {s.max_attachment_bytes // 1024} KB; send a smaller one.",
                status=413,
                code="too_large",
            )
        if not data:
            raise ChatError("The file is empty.")
        name = (upload.filename or "file").replace("/", "_").replace("\\", "_")[:200]
        result = await service.send_from_visitor(
            visitor, text, client_id, [InboundAttachment(filename=name, content_type=ctype, data=data, size=len(data))]
        )
    except ChatError as exc:
        return _error(request, exc)
    except IngestRejected as exc:
        return _error(request, ChatError(str(exc), status=413 if "limit" in str(exc) else 400))
    return Response(
        {"id": result.message_id, "conversation_id": result.conversation_id, "duplicate": not result.created},
        status_code=201,
        headers=_cors(request),
    )


@get("/api/v1/widget/attachments/{attachment_id:int}", opt={"public": True}, tags=["widget"])
async def widget_attachment(
    request: Request[Any, Any, Any],
    attachment_id: Annotated[int, Parameter(description="Attachment id from a message frame")],
    token: Annotated[str, Parameter(query="token", description="The visitor token")] = "",
) -> Response[Any]:
    """An attachment of the visitor's own conversations (images inline, other files as downloads)."""
    try:
        visitor = await service.visitor_from_token(token)
        att = await service.attachment_for(visitor, attachment_id)
    except ChatError as exc:
        return _error(request, exc)
    inline = att.content_type.startswith("image/") and att.content_type != "image/svg+xml"
    safe_name = att.filename.replace('"', "")
    return Response(
        att.data or b"",
        media_type=att.content_type if inline else "application/octet-stream",
        headers={
            **_cors(request),
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{safe_name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )
