"""Outbound webhooks from automation rules: stored first (the outbox), then POSTed by a job with retries.

Each request carries `X-Hub-Signature-256: sha256=<HMAC-SHA256(secret, raw body)>`, `X-Hub-Delivery`
(stable across retries, so receivers can drop duplicates) and `X-Hub-Event`. 2xx is delivered; 4xx other
than 408/429 fails for good; anything else is retried with backoff. A sweeper re-queues deliveries a crash
left pending.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crypto import body_signature
from hub.db import session_scope, utcnow
from hub.jobs import enqueue, job, sweeper
from ticketing.models import WebhookDelivery

log = logging.getLogger("ticketing.webhooks")
JOB = "ticketing.webhook"
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
SIGNATURE_HEADER = "X-Hub-Signature-256"

_client: httpx.AsyncClient | None = None


def client() -> httpx.AsyncClient:
    global _client
    if _client is None:
        _client = httpx.AsyncClient(timeout=10.0)
    return _client


async def close() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
    _client = None


async def store(
    session: AsyncSession, rule_id: int | None, url: str, secret: str, payload: dict[str, Any]
) -> WebhookDelivery:
    row = WebhookDelivery(
        rule_id=rule_id,
        url=url,
        body=msgspec.json.encode(payload).decode(),
        secret={"key": secret},
        state="pending",
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


def after_commit(delivery_id: int) -> Any:
    async def call() -> None:
        await enqueue(JOB, key=str(delivery_id), delivery_id=delivery_id)

    return call


class RetryLater(Exception):
    pass


@job(JOB, retries=MAX_ATTEMPTS, backoff_seconds=1.0)
async def deliver(delivery_id: int) -> None:
    now = utcnow()
    async with session_scope() as session:
        claimed = (
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, WebhookDelivery.state == "pending")
                .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + LEASE)
                .returning(WebhookDelivery.attempts)
            )
        ).first()
        if claimed is None:
            return
        row = await session.get(WebhookDelivery, delivery_id)
        assert row is not None
        url, body, secret, attempts = row.url, row.body.encode(), str((row.secret or {}).get("key", "")), claimed[0]
        event = str(msgspec.json.decode(body).get("event", ""))
    headers = {
        "content-type": "application/json",
        SIGNATURE_HEADER: body_signature(secret, body),
        "X-Hub-Delivery": str(delivery_id),
        "X-Hub-Event": event,
        "User-Agent": "support-hub-webhooks/1",
    }
    status: int | None = None
    error: str | None = None
    try:
        resp = await client().post(url, content=body, headers=headers)
        status = resp.status_code
    except httpx.HTTPError as exc:
        error = f"could not reach {url}: {type(exc).__name__}: {exc}"
    if status is not None and 200 <= status < 300:
        await _finish(delivery_id, "delivered", status, None)
        return
    retry = status is None or status in (408, 429) or status >= 500
    error = error or f"{url} answered {status}"
    if not retry or attempts >= MAX_ATTEMPTS:
        await _finish(delivery_id, "failed", status, error)
        return
    await _finish(delivery_id, "pending", status, error)
    raise RetryLater(error)


async def _finish(delivery_id: int, state: str, status: int | None, error: str | None) -> None:
    async with session_scope() as session:
        values: dict[str, Any] = {"state": state, "last_status": status, "last_error": error[:1000] if error else None}
        if state == "delivered":
            values["delivered_at"] = utcnow()
        if state != "pending":
            values["next_attempt_at"] = None
        await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))


@sweeper
async def requeue_pending_webhooks() -> None:
    """After a crash: pending deliveries whose lease ran out go back on the queue."""
    now = utcnow()
    async with session_scope() as session:
        ids = list(
            (
                await session.execute(
                    select(WebhookDelivery.id)
                    .where(
                        WebhookDelivery.state == "pending",
                        or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at < now - LEASE),
                    )
                    .limit(1000)
                )
            ).scalars()
        )
    for delivery_id in ids:
        await enqueue(JOB, key=str(delivery_id), delivery_id=delivery_id)
