"""Agent reply -> Twilio Messages API through the official client, on its aiohttp transport.

Twilio's answers are mapped for the kernel's retry loop: 429 and 5xx (and network trouble) are retried,
other 4xx fail at once with Twilio's error code shown to the agent.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.sms.optout import OPTED_OUT_REASON, is_opted_out, record_keyword
from channels.sms.parse import ERROR_TEXT
from channels.sms.settings import MAX_BODY, TWILIO_API, Misconfigured, SmsInboxCredentials, credentials_of, settings_of
from hub.outbound import DeliveryError, OutboundMessage, SendResult

log = logging.getLogger("channels.sms")
TIMEOUT = 30.0


class HostedClient(Client):
    """The official client, sending to the inbox's API host instead of api.twilio.com when configured."""

    def __init__(self, api_host: str, *args: Any, **kwargs: Any) -> None:
        self.api_host = api_host.rstrip("/")
        super().__init__(*args, **kwargs)

    def get_hostname(self, uri: str) -> str:
        if self.api_host == TWILIO_API:
            return str(super().get_hostname(uri))
        target = urlsplit(self.api_host)
        parts = urlsplit(uri)
        return urlunsplit((target.scheme, target.netloc, target.path + parts.path, parts.query, parts.fragment))


# Twilio's exceptions drop the response headers; the transport notes Retry-After here for the caller.
_last_answer: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("twilio_answer", default=None)


class HttpClient(AsyncTwilioHttpClient):
    """Twilio's aiohttp transport, remembering a 429's Retry-After so the retry waits as long as asked."""

    async def request(self, *args: Any, **kwargs: Any) -> Response:
        response: Response = await super().request(*args, **kwargs)
        holder = _last_answer.get()
        if holder is not None and response.status_code == 429:
            for key, value in (response.headers or {}).items():
                if key.lower() == "retry-after":
                    holder["retry_after"] = str(value)
        return response


# One client (and one aiohttp connection pool) per event loop and account.
_clients: dict[tuple[int, str, str, str], tuple[HostedClient, AsyncTwilioHttpClient]] = {}


def client_for(api_host: str, creds: SmsInboxCredentials) -> HostedClient:
    key = (id(asyncio.get_running_loop()), api_host, creds.account_sid, creds.api_key_sid or creds.auth_token)
    hit = _clients.get(key)
    if hit is None:
        http = HttpClient(timeout=TIMEOUT)
        username = creds.api_key_sid or creds.account_sid
        password = creds.api_key_secret if creds.api_key_sid else creds.auth_token
        hit = (HostedClient(api_host, username, password, account_sid=creds.account_sid, http_client=http), http)
        _clients[key] = hit
    return hit[0]


async def close() -> None:
    """Close the connection pools of this process's event loop (others are gone already)."""
    loop = id(asyncio.get_running_loop())
    for key in [k for k in _clients if k[0] == loop]:
        _, http = _clients.pop(key)
        try:
            await http.close()
        except Exception:
            log.debug("closing a Twilio HTTP client failed", exc_info=True)


def status_callback_url(public_base_url: str, inbox_token: str, message_id: int) -> str:
    # The hub's message id rides along so a callback that overtakes our own bookkeeping still finds it.
    base = public_base_url
    if not base:
        from hub.settings import get_settings

        base = get_settings().base_url
    return f"{base.rstrip('/')}/webhooks/twilio/{inbox_token}/status?hub_message={message_id}"


async def send(out: OutboundMessage) -> SendResult:
    try:
        settings = settings_of(out.inbox)
        creds = credentials_of(out.inbox)
    except Misconfigured as exc:
        raise DeliveryError(str(exc), retry=False) from exc
    # The conversation is the (inbox number, customer number) pair in its thread key: answer from and to
    # those, even when the contact has other numbers; else the inbox's number and the contact's phone.
    sender, to = settings.phone_number, out.to.address
    if out.thread_key and out.thread_key.startswith("+") and ":+" in out.thread_key:
        sender, to = out.thread_key.split(":", 1)
    if not to:
        raise DeliveryError("the contact has no phone number to text; add one to the contact", retry=False)
    if await is_opted_out(out.inbox.id, to):
        raise DeliveryError(OPTED_OUT_REASON, retry=False, code="21610")
    body = out.text.strip()
    if not body:
        raise DeliveryError("the reply is empty; SMS needs some text", retry=False)
    if len(body) > MAX_BODY:
        raise DeliveryError(
            f"SMS replies are limited to {MAX_BODY} characters and this one has {len(body)}; shorten or split it",
            retry=False,
        )
    params: dict[str, Any] = {
        "to": to,
        "body": body,
        "status_callback": status_callback_url(settings.public_base_url, out.inbox.public_token, out.message_id),
    }
    if settings.messaging_service_sid:
        params["messaging_service_sid"] = settings.messaging_service_sid
    else:
        params["from_"] = sender
    client = client_for(settings.api_host, creds)
    answer: dict[str, str] = {}
    _last_answer.set(answer)
    try:
        created = await asyncio.wait_for(client.messages.create_async(**params), TIMEOUT)
    except TwilioRestException as exc:
        raise await _mapped(exc, out, to, answer.get("retry_after")) from exc
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"could not reach Twilio ({type(exc).__name__}: {exc})", retry=True) from exc
    return SendResult(
        provider_id=created.sid,
        status="sent",
        meta={"to": to, "twilio_status": created.status, "segments": created.num_segments},
    )


async def _mapped(
    exc: TwilioRestException, out: OutboundMessage, to: str, retry_after: str | None = None
) -> DeliveryError:
    code = str(exc.code) if exc.code else None
    status = int(exc.status or 0)
    if status == 429 or status >= 500:
        try:
            wait = float(retry_after) if retry_after else None
        except ValueError:
            wait = None
        return DeliveryError(
            f"Twilio is busy (HTTP {status}); retrying", retry=True, retry_after=wait, code=code or str(status)
        )
    if code == "21610":
        # Twilio knows of a STOP we never saw (sent before this inbox existed): remember it here too.
        await record_keyword(inbox_id=out.inbox.id, phone=to, word="STOP", stop=True, source="twilio")
        return DeliveryError(OPTED_OUT_REASON, retry=False, code=code)
    if status in (401, 403):
        return DeliveryError(
            "Twilio rejected the inbox's credentials; check the Account SID and Auth Token in the inbox settings",
            retry=False,
            code=code or str(status),
        )
    detail = ERROR_TEXT.get(code or "") or str(exc.msg)
    return DeliveryError(f"Twilio refused the message: {detail}", retry=False, code=code or str(status))
