"""Agent replies POSTed, signed, to the inbox's callback URL; the status code decides retry or fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from channels.api.signing import signature
from hub.outbound import DeliveryError, OutboundMessage, SendResult

if TYPE_CHECKING:
    import httpx

_client: httpx.AsyncClient | None = None


def client() -> httpx.AsyncClient:
    """Created on the first reply: an idle process never loads the HTTP client."""
    global _client
    if _client is None:
        import httpx

        _client = httpx.AsyncClient(timeout=10.0)
    return _client


async def close() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
    _client = None


async def send(message: OutboundMessage) -> SendResult:
    url = str(message.inbox.settings.get("callback_url") or "")
    if not url:
        return SendResult(provider_id=None, status="sent", meta={"note": "no callback URL; kept in the hub"})
    body = msgspec.json.encode(
        {
            "message_id": message.message_id,
            "conversation_id": message.conversation_id,
            "to": message.to.address.split(":", 1)[-1],
            "text": message.text,
            "html": message.html,
            "thread": message.thread_key,
            "author": message.author_name,
        }
    )
    secret = str(message.inbox.credentials.get("hmac_secret", ""))
    headers = {
        "content-type": "application/json",
        "x-hub-signature": signature(secret, body),
        "idempotency-key": message.idempotency_key,
    }
    timeout = float(message.inbox.settings.get("timeout_seconds") or 10.0)
    import httpx

    try:
        resp = await client().post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"could not reach {url}: {exc}", retry=True) from exc
    if resp.status_code == 429 or resp.status_code >= 500:
        after = resp.headers.get("retry-after")
        raise DeliveryError(
            f"{url} answered {resp.status_code}; will retry",
            retry=True,
            retry_after=float(after) if after and after.isdigit() else None,
            code=str(resp.status_code),
        )
    if resp.status_code >= 400:
        raise DeliveryError(
            f"{url} refused the message with {resp.status_code}: {resp.text[:200]}",
            retry=False,
            code=str(resp.status_code),
        )
    provider_id = None
    try:
        data = resp.json()
        if isinstance(data, dict) and data.get("id"):
            provider_id = str(data["id"])
    except ValueError:
        pass
    return SendResult(provider_id=provider_id, status="sent")
