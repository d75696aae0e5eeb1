"""Files a provider only links to in its webhook (MMS media, Slack files) are fetched after the message is
stored, never while the provider waits for the webhook's answer, so agents can open them from the hub.

A channel keeps its own job (and its name) and says, per URL, which credentials may go there; this module
holds what every such channel does the same way: find the attachments still missing their bytes, download
each within the size limit, store it once, and find the ones a stopped process never fetched.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeAlias

from sqlalchemy import select, update

from hub.db import session_scope, utcnow
from hub.inboxes import UnknownInbox, get_inbox_config
from hub.jobs import enqueue, job, sweeper
from hub.models import Attachment, Message
from hub.models.conversation import Conversation
from hub.outbound import InboxConfig

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("hub.remote_files")
SWEEP_WINDOW = timedelta(hours=1)
TIMEOUT = 30.0

# httpx loads with the first fetch: the web processes that never fetch a file never pay for it.
Auth: TypeAlias = "httpx.Auth | Callable[[httpx.Request], httpx.Request]"
AuthFor: TypeAlias = "Callable[[str], Auth | None]"
"""The credentials a file URL may be fetched with; None for a host that must not see them (a CDN)."""


class TooLarge(Exception):
    pass


def bearer(token: str) -> Auth:
    """`Authorization: Bearer <token>`; like any httpx auth it is not carried along a cross-origin redirect."""

    def add(request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    return add


def basic(username: str, password: str) -> Auth:
    import httpx

    return httpx.BasicAuth(username, password)


def _max_bytes() -> int:
    from hub.settings import get_settings

    return get_settings().max_attachment_bytes


async def download(http: httpx.AsyncClient, url: str, auth: Auth | None, limit: int) -> bytes:
    """The body at `url`, streamed and abandoned as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async with http.stream("GET", url, auth=auth) as resp:
        resp.raise_for_status()
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"{url} is larger than {limit} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


async def fetch_missing(message_id: int, *, channel: str, auth_for: Callable[[InboxConfig], AuthFor | None]) -> None:
    """Download the attachments of `message_id` that have a source URL and no bytes yet.

    `auth_for(inbox)` gives the per-URL credentials, or None when the inbox cannot fetch (misconfigured: the
    channel says why in its log). An HTTP or network error propagates, so the calling job is retried; a file
    over the size limit is skipped for good. Bytes are written only where none are yet, so a retry or a
    second runner never overwrites.
    """
    async with session_scope() as session:
        rows = (
            await session.execute(
                select(Attachment.id, Attachment.source_url, Message.inbox_id)
                .join(Message, Message.id == Attachment.message_id)
                .where(
                    Attachment.message_id == message_id,
                    Attachment.data.is_(None),
                    Attachment.source_url.is_not(None),
                )
            )
        ).all()
    if not rows:
        return
    try:
        inbox = await get_inbox_config(rows[0][2], channel=channel)
    except UnknownInbox:
        return
    credentials = auth_for(inbox)
    if credentials is None:
        return
    import httpx

    limit = _max_bytes()
    async with httpx.AsyncClient(follow_redirects=True, timeout=TIMEOUT) as http:
        for attachment_id, url, _ in rows:
            try:
                data = await download(http, str(url), credentials(str(url)), limit)
            except TooLarge as exc:
                log.warning("%s file of message %s not kept: %s", channel, message_id, exc)
                continue
            async with session_scope() as session:
                await session.execute(
                    update(Attachment)
                    .where(Attachment.id == attachment_id, Attachment.data.is_(None))
                    .values(data=data, size=len(data), sha256=hashlib.sha256(data).hexdigest())
                )


async def missed(channel: str, *, window: timedelta = SWEEP_WINDOW, limit: int = 500) -> list[int]:
    """Ids of recent `channel` messages with files never fetched (the process stopped right after storing)."""
    async with session_scope() as session:
        ids = (
            (
                await session.execute(
                    select(Attachment.message_id)
                    .join(Message, Message.id == Attachment.message_id)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(
                        Conversation.channel == channel,
                        Attachment.data.is_(None),
                        Attachment.source_url.is_not(None),
                        Attachment.created_at > utcnow() - window,
                    )
                    .distinct()
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
    return list(ids)


def fetcher(
    name: str, *, channel: str, auth_for: Callable[[InboxConfig], AuthFor | None]
) -> Callable[[int], Awaitable[None]]:
    """Register job `name` (fetch one message's files; retried with backoff) and a sweeper that re-queues
    recent messages whose fetch never ran; returns `schedule(message_id)`, to call once the message is stored.
    The job keeps the channel's own name, so jobs already queued under it still run."""

    async def schedule(message_id: int) -> None:
        await enqueue(name, key=str(message_id), message_id=message_id)

    async def fetch(message_id: int) -> None:
        await fetch_missing(message_id, channel=channel, auth_for=auth_for)

    async def sweep() -> None:
        for message_id in await missed(channel):
            await schedule(message_id)

    fetch.__qualname__ = fetch.__name__ = name
    sweep.__qualname__ = sweep.__name__ = f"{name}.sweep"
    job(name, retries=5, backoff_seconds=5.0)(fetch)
    sweeper(sweep)
    return schedule
