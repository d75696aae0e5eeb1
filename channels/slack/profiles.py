"""Slack user profiles (name, email) from users.info, cached per process so a busy thread costs one call.

A missing profile never blocks a message: the post is stored with the Slack identity alone.
"""

from __future__ import annotations

import logging
import time

from channels.slack.parse import Profile
from channels.slack.settings import SlackInboxCredentials, SlackInboxSettings

log = logging.getLogger("channels.slack")
NEGATIVE_TTL = 60.0
TIMEOUT = 2  # Slack wants the webhook answered within 3 seconds; the profile can wait for a later message
MAX_ENTRIES = 50_000
_cache: dict[tuple[str, str, str], tuple[float, Profile | None]] = {}


async def lookup(settings: SlackInboxSettings, creds: SlackInboxCredentials, team: str, user: str) -> Profile | None:
    key = (settings.api_host, team, user)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    # The SDK's web client (and aiohttp) loads with the first Slack message, not when a web process starts.
    import aiohttp
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=creds.bot_token, base_url=settings.api_host, timeout=TIMEOUT)
    profile: Profile | None
    try:
        resp = await client.users_info(user=user)
        data = resp.get("user") or {}
        fields = data.get("profile") or {}
        name = fields.get("real_name") or data.get("real_name") or fields.get("display_name") or data.get("name")
        email = fields.get("email")
        profile = Profile(name=str(name) if name else None, email=str(email) if email else None)
        ttl = float(settings.profile_ttl_seconds)
    except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.warning("users.info for %s:%s failed (%s); storing the message without a profile", team, user, exc)
        profile, ttl = None, NEGATIVE_TTL
    if len(_cache) >= MAX_ENTRIES:
        _cache.clear()
    _cache[key] = (now + ttl, profile)
    return profile


def forget(api_host: str | None = None, team: str = "", user: str = "") -> None:
    """Drop one cached profile (a `user_change` event says it changed), or all of them."""
    if api_host is None:
        _cache.clear()
    else:
        _cache.pop((api_host, team, user), None)
