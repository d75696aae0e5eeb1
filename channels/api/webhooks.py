"""`POST /webhooks/api/{inbox}/messages`: an integrator's signed JSON message in."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, post
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import Parameter

from channels.api.parse import PayloadError, parse
from channels.api.signing import HEADER, valid
from hub.inboxes import UnknownInbox, get_inbox_config
from hub.ingest import IngestRejected, ingest


@post("/webhooks/api/{inbox:str}/messages", opt={"public": True}, status_code=200, tags=["webhooks"])
async def receive(
    request: Request[Any, Any, Any],
    inbox: Annotated[str, Parameter(description="The inbox's public token or id")],
) -> dict[str, Any]:
    """Store a message from your system. Sign the raw body: `X-Hub-Signature: sha256=HMAC(secret, body)`."""
    try:
        config = await get_inbox_config(inbox, channel="api")
    except UnknownInbox as exc:
        raise NotFoundException(str(exc)) from exc
    body = await request.body()
    secret = str(config.credentials.get("hmac_secret", ""))
    if not secret or not valid(secret, body, request.headers.get(HEADER)):
        raise PermissionDeniedException(
            "Missing or wrong X-Hub-Signature: sign the raw body with HMAC-SHA256 using the inbox secret."
        )
    try:
        result = await ingest(parse(config.id, body))
    except (PayloadError, IngestRejected) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return {
        "message_id": result.message_id,
        "conversation_id": result.conversation_id,
        "contact_id": result.contact_id,
        "duplicate": not result.created,
    }
