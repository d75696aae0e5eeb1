"""Files shared in Slack are fetched after the message is stored (never while Slack waits for the answer),
with the bot token, so agents can open them from the hub. A failed fetch is retried and swept up later."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.slack.settings import SLACK_API, Misconfigured, credentials_of, settings_of
from hub import remote_files
from hub.jobs import enqueue, job, sweeper
from hub.outbound import InboxConfig

log = logging.getLogger("channels.slack")
FETCH = "slack.fetch_files"


async def schedule(message_id: int) -> None:
    await enqueue(FETCH, key=str(message_id), message_id=message_id)


def _auth_for(inbox: InboxConfig) -> remote_files.AuthFor | None:
    try:
        creds, settings = credentials_of(inbox), settings_of(inbox)
    except Misconfigured as exc:
        log.warning("Slack files of inbox %s not fetched: %s", inbox.id, exc)
        return None
    # The bot token goes only to Slack's own hosts (or the configured API host), never to a stranger.
    trusted = {"files.slack.com", urlsplit(SLACK_API).netloc, urlsplit(settings.api_host).netloc}
    bearer = remote_files.bearer(creds.bot_token)
    return lambda url: bearer if urlsplit(url).netloc in trusted else None


@job(FETCH, retries=5, backoff_seconds=5.0)
async def fetch_files(message_id: int) -> None:
    await remote_files.fetch_missing(message_id, channel="slack", auth_for=_auth_for)


@sweeper
async def fetch_missed_files() -> None:
    """Files of recent messages whose fetch never ran (the process stopped right after storing them)."""
    for message_id in await remote_files.missed("slack"):
        await schedule(message_id)
