"""MMS media are fetched after the message is stored (never while Twilio waits for the webhook's answer),
so agents can open them from the hub. A failed fetch is retried by the job runner and swept up later."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.sms.settings import TWILIO_API, Misconfigured, credentials_of, settings_of
from hub import remote_files
from hub.outbound import InboxConfig

log = logging.getLogger("channels.sms")
FETCH = "sms.fetch_media"


def _auth_for(inbox: InboxConfig) -> remote_files.AuthFor | None:
    try:
        creds, settings = credentials_of(inbox), settings_of(inbox)
    except Misconfigured as exc:
        log.warning("MMS media of inbox %s not fetched: %s", inbox.id, exc)
        return None
    # Credentials go only to Twilio's own API host (media URLs redirect to a CDN, which gets none).
    trusted = {urlsplit(TWILIO_API).netloc, urlsplit(settings.api_host).netloc}
    basic = remote_files.basic(creds.account_sid, creds.auth_token)
    return lambda url: basic if urlsplit(url).netloc in trusted else None


schedule = remote_files.fetcher(FETCH, channel="sms", auth_for=_auth_for)
