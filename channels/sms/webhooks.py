"""Twilio webhooks: inbound SMS/MMS and delivery status callbacks, each verified before anything is stored."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import parse_qsl

from litestar import Request, Response, post
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.params import Parameter
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from channels.sms import media
from channels.sms.optout import record_keyword
from channels.sms.parse import SmsPayloadError, keyword, parse_sms, parse_status
from channels.sms.settings import check, credentials_of, settings_of
from channels.sms.status import apply_status
from hub.inboxes import webhook_inbox
from hub.ingest import IngestRejected, ingest
from hub.outbound import InboxConfig

log = logging.getLogger("channels.sms")
MAX_BODY_BYTES = 64 * 1024  # a Twilio form with 10 media URLs is a few kilobytes
SIGNATURE_HEADER = "x-twilio-signature"

InboxParam = Annotated[str, Parameter(description="The SMS inbox's public token or id")]


async def _inbox(ref: str) -> InboxConfig:
    return await webhook_inbox(ref, "sms", check=check)


def _candidate_urls(request: Request[Any, Any, Any], config: InboxConfig) -> list[str]:
    """The URL Twilio signed: the configured public base + path, or the URL as this server received it."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else str(raw_path)
    query = request.scope.get("query_string", b"").decode("latin-1")
    suffix = path + (f"?{query}" if query else "")
    bases = [settings_of(config).public_base_url, request.app.state.settings.base_url]
    urls = [f"{b.rstrip('/')}{suffix}" for b in bases if b]
    urls.append(str(request.url))
    return list(dict.fromkeys(urls))


async def verified_form(request: Request[Any, Any, Any], config: InboxConfig) -> MultiDict[str]:
    """The posted form, once X-Twilio-Signature proves Twilio sent it for this inbox (403 otherwise)."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise PermissionDeniedException("Missing X-Twilio-Signature: only Twilio may post to this webhook.")
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise HTTPException(status_code=400, detail="Twilio webhooks are form-encoded; the body was not.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(status_code=400, detail=f"The form body cannot be read: {exc}") from exc
    form: MultiDict[str] = MultiDict(pairs)
    validator = RequestValidator(credentials_of(config).auth_token)
    if not any(validator.validate(url, form, signature) for url in _candidate_urls(request, config)):
        raise PermissionDeniedException(
            "Wrong X-Twilio-Signature: check the inbox's Auth Token and that the webhook URL configured in "
            "Twilio matches the hub's public URL."
        )
    return form


def _twiml(text: str = "") -> Response[str]:
    from twilio.twiml.messaging_response import MessagingResponse

    reply = MessagingResponse()
    if text:
        reply.message(text)
    return Response(content=str(reply), media_type="text/xml", status_code=200)


@post(
    "/webhooks/twilio/{inbox:str}/sms",
    opt={"public": True},
    tags=["webhooks"],
    request_max_body_size=MAX_BODY_BYTES,
)
async def twilio_sms(request: Request[Any, Any, Any], inbox: InboxParam) -> Response[str]:
    """Inbound SMS/MMS from Twilio. Answers empty TwiML (or the HELP text when one is configured)."""
    config = await _inbox(inbox)
    form = await verified_form(request, config)
    settings = settings_of(config)
    try:
        message = parse_sms(form, config.id, settings.default_region)
        result = await ingest(message)
    except (SmsPayloadError, IngestRejected) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    if result.created and message.attachments:
        await media.schedule(result.message_id)
    word = keyword(message.text)
    if word in ("stop", "start"):
        await record_keyword(
            inbox_id=config.id,
            phone=message.sender.address,
            word=message.text.strip().upper()[:32],
            stop=word == "stop",
            contact_id=result.contact_id,
            conversation_id=result.conversation_id,
        )
    if word == "help" and settings.help_reply:
        return _twiml(settings.help_reply)
    return _twiml()


@post(
    "/webhooks/twilio/{inbox:str}/status",
    opt={"public": True},
    tags=["webhooks"],
    request_max_body_size=MAX_BODY_BYTES,
)
async def twilio_status(
    request: Request[Any, Any, Any],
    inbox: InboxParam,
    hub_message: Annotated[
        int | None, Parameter(query="hub_message", description="The hub's message id, set by the hub itself")
    ] = None,
) -> Response[str]:
    """Delivery status callback for a reply the hub sent: sent, delivered, undelivered/failed with ErrorCode."""
    config = await _inbox(inbox)
    form = await verified_form(request, config)
    try:
        sid, status, code = parse_status(form)
    except SmsPayloadError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    await apply_status(config, sid, status, code, hub_message)
    return _twiml()
