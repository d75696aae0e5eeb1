"""Agent reply -> chat.postMessage in the conversation's Slack thread (or DM), through the official SDK.

Rate limits are waited out: a short Retry-After inline by the SDK's retry handler, a long one by handing
the kernel a retryable DeliveryError with retry_after. Other Slack errors say what to fix.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack import progress
from channels.slack.parse import escape, split_thread_key
from channels.slack.settings import Misconfigured, credentials_of, settings_of
from hub.outbound import DeliveryError, OutboundMessage, SendResult

log = logging.getLogger("channels.slack")
INLINE_WAIT_MAX = 10  # seconds of Retry-After waited inside the job; longer waits go back to the queue
MAX_TEXT = 40_000
RETRYABLE = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
EXPLAIN = {
    "not_in_channel": "the Slack app is not a member of that channel; invite it with /invite",
    "channel_not_found": "the Slack channel no longer exists or the app cannot see it",
    "is_archived": "the Slack channel is archived",
    "invalid_auth": "Slack rejected the inbox's bot token; reinstall the app and update the inbox credentials",
    "not_authed": "the inbox has no Slack bot token",
    "token_revoked": "the Slack app was uninstalled or its token revoked; reinstall it",
    "account_inactive": "the Slack app was uninstalled or its token revoked; reinstall it",
    "missing_scope": "the Slack app lacks the chat:write scope",
    "msg_too_long": "the reply is too long for Slack",
    "user_not_found": "the Slack user no longer exists",
    "cannot_dm_bot": "the contact is a Slack bot and cannot be messaged",
}


def _retry_after(headers: Any) -> float | None:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


class ShortRateLimitWait(AsyncRateLimitErrorRetryHandler):
    """The SDK's 429 handler, but only for waits short enough to hold a job slot."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after(response.headers)
        return wait is None or wait <= INLINE_WAIT_MAX


def client_for(api_host: str, token: str) -> AsyncWebClient:
    return AsyncWebClient(
        token=token, base_url=api_host, timeout=20, retry_handlers=[ShortRateLimitWait(max_retry_count=2)]
    )


async def send(out: OutboundMessage) -> SendResult:
    try:
        settings = settings_of(out.inbox)
        creds = credentials_of(out.inbox)
    except Misconfigured as exc:
        raise DeliveryError(str(exc), retry=False) from exc
    text = out.text.strip()
    if not text and not out.attachments:
        raise DeliveryError("the reply is empty; Slack needs some text or a file", retry=False)
    if len(text) > MAX_TEXT:
        raise DeliveryError(f"Slack messages are limited to {MAX_TEXT} characters", retry=False)
    client = client_for(settings.api_host, creds.bot_token)
    # With files the reply takes two calls; what already went out is noted so a retry never repeats it.
    done = await progress.load(out.message_id) if out.attachments else {}
    ts = str(done.get("ts") or "")
    try:
        channel, thread_ts = await _target(client, out, str(done.get("channel") or ""))
        if text and not ts:
            args: dict[str, Any] = {"channel": channel, "text": escape(text), "unfurl_links": False}
            if thread_ts:
                args["thread_ts"] = thread_ts
            resp = await client.chat_postMessage(**args)
            channel, ts = str(resp.get("channel") or channel), str(resp.get("ts") or "")
            if out.attachments:
                await progress.save(out.message_id, {"channel": channel, "ts": ts})
        if out.attachments:
            uploads = [{"file": a.data, "filename": a.filename, "title": a.filename} for a in out.attachments]
            await client.files_upload_v2(channel=channel, thread_ts=thread_ts, file_uploads=uploads)
    except SlackApiError as exc:
        raise _mapped(exc) from exc
    except SlackRequestError as exc:
        raise DeliveryError(f"Slack did not take a file ({exc}); retrying", retry=True) from exc
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"could not reach Slack ({type(exc).__name__}: {exc})", retry=True) from exc
    return SendResult(provider_id=f"{channel}:{ts}" if ts else None, status="sent", meta={"slack_ts": ts})


async def _target(client: AsyncWebClient, out: OutboundMessage, known_channel: str) -> tuple[str, str | None]:
    """(channel, thread_ts) the reply goes to: the conversation's thread or DM, or a DM opened for it."""
    if out.thread_key:
        return split_thread_key(out.thread_key)
    if known_channel:
        return known_channel, None
    # A conversation an agent started with a Slack contact: open a DM with them.
    user = out.to.address.rpartition(":")[2]
    if not user:
        raise DeliveryError("the contact has no Slack identity to message", retry=False)
    opened = await client.conversations_open(users=user)
    return str((opened.get("channel") or {}).get("id") or ""), None


def _mapped(exc: SlackApiError) -> DeliveryError:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    error = str(response.get("error") or "") if hasattr(response, "get") else ""
    if status == 429 or error == "ratelimited":
        wait = _retry_after(getattr(response, "headers", None)) or 1.0
        return DeliveryError(
            f"Slack rate limit; retrying in {wait:.0f}s", retry=True, retry_after=wait, code="ratelimited"
        )
    if status >= 500 or error in RETRYABLE:
        return DeliveryError(f"Slack is having trouble ({error or status}); retrying", retry=True, code=error or None)
    reason = EXPLAIN.get(error, f"Slack refused the reply ({error or status})")
    return DeliveryError(reason, retry=False, code=error or str(status))
