"""Files shared in Slack are fetched after the message is stored (never while Slack waits for the answer),
with the bot token, so agents can open them from the hub. A failed fetch is retried and swept up later."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update

from channels.slack.settings import SLACK_API, Misconfigured, credentials_of, settings_of
from hub.db import session_scope, utcnow
from hub.inboxes import UnknownInbox, get_inbox_config
from hub.jobs import enqueue, job, sweeper
from hub.models import Attachment, Message
from hub.models.conversation import Conversation

log = logging.getLogger("channels.slack")
FETCH = "slack.fetch_files"
SWEEP_WINDOW = timedelta(hours=1)


class TooLarge(Exception):
    pass


async def schedule(message_id: int) -> None:
    await enqueue(FETCH, key=str(message_id), message_id=message_id)


def _max_bytes() -> int:
    from hub.settings import get_settings

    return get_settings().max_attachment_bytes


async def download(http: httpx.AsyncClient, url: str, headers: dict[str, str], limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async with http.stream("GET", url, headers=headers) as resp:
        resp.raise_for_status()
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"{url} is larger than {limit} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


@job(FETCH, retries=5, backoff_seconds=5.0)
async def fetch_files(message_id: int) -> None:
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
        inbox = await get_inbox_config(rows[0][2], channel="slack")
    except UnknownInbox:
        return
    try:
        creds, settings = credentials_of(inbox), settings_of(inbox)
    except Misconfigured as exc:
        log.warning("files of message %s not fetched: %s", message_id, exc)
        return
    # The bot token goes only to Slack's own hosts (or the configured API host), never to a stranger.
    trusted = {"files.slack.com", urlsplit(SLACK_API).netloc, urlsplit(settings.api_host).netloc}
    limit = _max_bytes()
    async with httpx.AsyncClient(follow_redirects=True, timeout=30) as http:
        for attachment_id, url, _ in rows:
            host = urlsplit(str(url)).netloc
            headers = {"Authorization": f"Bearer {creds.bot_token}"} if host in trusted else {}
            try:
                data = await download(http, str(url), headers, limit)
            except TooLarge as exc:
                log.warning("Slack file not kept: %s", exc)
                continue
            async with session_scope() as session:
                await session.execute(
                    update(Attachment)
                    .where(Attachment.id == attachment_id, Attachment.data.is_(None))
                    .values(data=data, size=len(data), sha256=hashlib.sha256(data).hexdigest())
                )


@sweeper
async def fetch_missed_files() -> None:
    """Files of recent messages whose fetch never ran (the process stopped right after storing them)."""
    async with session_scope() as session:
        ids = (
            (
                await session.execute(
                    select(Attachment.message_id)
                    .join(Message, Message.id == Attachment.message_id)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(
                        Conversation.channel == "slack",
                        Attachment.data.is_(None),
                        Attachment.source_url.is_not(None),
                        Attachment.created_at > utcnow() - SWEEP_WINDOW,
                    )
                    .distinct()
                    .limit(500)
                )
            )
            .scalars()
            .all()
        )
    for message_id in ids:
        await schedule(message_id)
