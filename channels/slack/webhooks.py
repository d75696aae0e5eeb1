"""`POST /webhooks/slack/{inbox}/events`: the Slack Events API, verified before anything is stored."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from litestar import Request, post
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.params import Parameter

from channels.slack import files, profiles
from channels.slack.parse import SlackPayloadError, challenge, changed_user, decode, parse_event, to_inbound
from channels.slack.settings import check, credentials_of, settings_of
from hub.inboxes import webhook_inbox
from hub.ingest import IngestRejected, ingest
from hub.outbound import InboxConfig

log = logging.getLogger("channels.slack")
MAX_BODY_BYTES = 256 * 1024
MAX_SKEW = 300  # Slack's own rule: reject requests more than five minutes old (replays)


async def _inbox(ref: str) -> InboxConfig:
    return await webhook_inbox(ref, "slack", check=check)


def verify(config: InboxConfig, body: bytes, timestamp: str | None, signature: str | None) -> None:
    if not timestamp or not signature:
        raise PermissionDeniedException(
            "Missing X-Slack-Signature or X-Slack-Request-Timestamp: only Slack may post to this webhook."
        )
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError as exc:
        raise PermissionDeniedException("X-Slack-Request-Timestamp is not a Unix time.") from exc
    if skew > MAX_SKEW:
        raise PermissionDeniedException(
            "X-Slack-Request-Timestamp is more than five minutes off: a stale or replayed request, or a wrong clock."
        )
    from slack_sdk.signature import SignatureVerifier  # the slack_sdk package loads with the first Slack request

    if not SignatureVerifier(credentials_of(config).signing_secret).is_valid(body, timestamp, signature):
        raise PermissionDeniedException("Wrong X-Slack-Signature: check the inbox's Slack signing secret.")


@post(
    "/webhooks/slack/{inbox:str}/events",
    opt={"public": True},
    status_code=200,
    tags=["webhooks"],
    request_max_body_size=MAX_BODY_BYTES,
)
async def slack_events(
    request: Request[Any, Any, Any],
    inbox: Annotated[str, Parameter(description="The Slack inbox's public token or id")],
) -> dict[str, Any]:
    """Slack Events API: answers url_verification, stores people's posts; ignores bots and the hub's own posts."""
    config = await _inbox(inbox)
    body = await request.body()
    verify(
        config,
        body,
        request.headers.get("x-slack-request-timestamp"),
        request.headers.get("x-slack-signature"),
    )
    settings = settings_of(config)
    try:
        payload = decode(body)
        kind = payload.get("type")
        if kind == "url_verification":
            return {"challenge": challenge(payload)}
        if kind != "event_callback":
            return {"ok": True, "stored": False}
        changed = changed_user(payload)
        if changed is not None:
            profiles.forget(settings.api_host, *changed)
            return {"ok": True, "stored": False}
        post_ = parse_event(payload, settings.bot_user_id)
        if post_ is None:
            return {"ok": True, "stored": False}
        profile = await profiles.lookup(settings, credentials_of(config), post_.team, post_.user)
        max_bytes = int(getattr(request.app.state.settings, "max_attachment_bytes", 10_485_760))
        message = to_inbound(post_, config.id, profile, max_bytes)
        result = await ingest(message, max_attachment_bytes=max_bytes)
    except (SlackPayloadError, IngestRejected) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    if result.created and message.attachments:
        await files.schedule(result.message_id)
    return {"ok": True, "stored": result.created, "message_id": result.message_id}
