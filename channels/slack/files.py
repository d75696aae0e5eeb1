"""Files shared in Slack are fetched after the message is stored (never while Slack waits for the answer),
with the bot token, so agents can open them from the hub. A failed fetch is retried and swept up later."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.slack.settings import SLACK_API, Misconfigured, credentials_of, settings_of
from hub import remote_files
from hub.outbound import InboxConfig

log = logging.getLogger("channels.slack")
FETCH = "slack.fetch_files"


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


schedule = remote_files.fetcher(FETCH, channel="slack", auth_for=_auth_for)
