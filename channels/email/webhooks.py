"""`POST /webhooks/email/{inbox}/raw`: a raw RFC 822 message handed over by an MTA (Postfix pipe, a
cloud mail provider's raw-MIME webhook ...).

Authenticated per inbox with its `webhook_secret`: `Authorization: Bearer <secret>`, or
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` for senders that sign instead. Missing
credentials answer 401, wrong ones 403, an unknown inbox 404, an oversize body 413, a message that cannot
be stored 422 with the reason; nothing is stored in any of those cases. The 200 is sent after the
message is committed; a retry of the same message is answered 200 again without storing it twice.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import Parameter

from channels.email.receive import MessageTooLarge, receive
from channels.email.settings import load_credentials, load_settings, server_max_message_bytes
from hub.crypto import body_signature_valid
from hub.inboxes import UnknownInbox, get_inbox_config
from hub.ingest import IngestRejected

SIGNATURE_HEADER = "x-hub-signature-256"


class RawResult(msgspec.Struct):
    stored: bool
    duplicate: bool
    provider_id: str
    message_id: int | None = None
    conversation_id: int | None = None
    bounce_for: int | None = None


def _check_auth(request: Request[Any, Any, Any], secret: str | None, body: bytes | None) -> bool:
    """True when authenticated; raises 401/403. Returns False if only the body HMAC can decide."""
    auth = request.headers.get("authorization", "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not auth and not signature:
        raise NotAuthorizedException(
            "Send the inbox's webhook secret as 'Authorization: Bearer <secret>' "
            "or sign the body in X-Hub-Signature-256."
        )
    if not secret:
        raise PermissionDeniedException("This inbox has no webhook secret set; set one in the inbox settings first.")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), secret.encode()):
            raise PermissionDeniedException("The webhook secret is wrong for this inbox.")
        return True
    if body is None:
        return False
    if not body_signature_valid(secret, body, signature):
        raise PermissionDeniedException("The X-Hub-Signature-256 does not match the body and the webhook secret.")
    return True


@post(
    "/webhooks/email/{inbox:str}/raw",
    opt={"public": True},
    request_max_body_size=server_max_message_bytes(),
    status_code=200,
    summary="Receive a raw RFC 822 message from an MTA",
    tags=["webhooks"],
)
async def email_raw(
    request: Request[Any, Any, Any],
    inbox: Annotated[str, Parameter(description="The inbox id or its public token.")],
) -> RawResult:
    try:
        config = await get_inbox_config(inbox, "email")
    except UnknownInbox as exc:
        raise NotFoundException(str(exc)) from exc
    secret = load_credentials(config.credentials).webhook_secret
    authenticated = _check_auth(request, secret, None)
    body = await request.body()  # over the limit: Litestar answers 413 before reading it all
    if not authenticated:
        _check_auth(request, secret, body)
    if not body.strip():
        raise HTTPException(status_code=400, detail="The request body is empty; send the raw RFC 822 message.")
    try:
        settings = load_settings(config.settings)
    except msgspec.ValidationError as exc:
        raise HTTPException(
            status_code=409, detail=f"This inbox's email settings are invalid ({exc}); fix them in the inbox settings."
        ) from exc
    try:
        result = await receive(config, body, source="webhook", settings=settings)
    except MessageTooLarge as exc:
        raise HTTPException(status_code=413, detail=f"Too large: {exc}.") from exc
    except IngestRejected as exc:
        raise HTTPException(status_code=422, detail=f"The message cannot be stored: {exc}.") from exc
    return RawResult(
        stored=result.created or result.bounce_for is not None,
        duplicate=not result.created and result.bounce_for is None,
        provider_id=result.provider_id,
        message_id=result.message_id,
        conversation_id=result.conversation_id,
        bounce_for=result.bounce_for,
    )
