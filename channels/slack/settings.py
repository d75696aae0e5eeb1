"""Settings of a Slack inbox (one Slack app installed in one workspace), checked when the inbox is saved."""

from __future__ import annotations

import msgspec

from hub.inboxes import Misconfigured as Misconfigured  # re-exported: what the channel's modules catch
from hub.inboxes import read_stored
from hub.outbound import InboxConfig

SLACK_API = "https://slack.com/api/"


class SlackInboxSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Where the Web API lives: Slack, GovSlack (https://slack-gov.com/api/) or a local test double.
    api_host: str = SLACK_API
    # The app's bot user; its own posts are never taken for customer messages (bot_id catches most).
    bot_user_id: str = ""
    # How long a looked-up Slack profile (name, email) is reused before asking users.info again.
    profile_ttl_seconds: int = 3600

    def __post_init__(self) -> None:
        if not self.api_host.startswith(("http://", "https://")):
            raise ValueError("api_host must start with http:// or https://")
        if not self.api_host.endswith("/"):
            self.api_host += "/"
        if self.profile_ttl_seconds < 0:
            raise ValueError("profile_ttl_seconds must be 0 or more")


class SlackInboxCredentials(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    bot_token: str  # xoxb-...
    signing_secret: str  # from the app's Basic Information page; verifies every event


def check(inbox: InboxConfig) -> None:
    """Raises Misconfigured unless the inbox's settings and credentials can be read."""
    settings_of(inbox)
    credentials_of(inbox)


def settings_of(inbox: InboxConfig) -> SlackInboxSettings:
    return read_stored(SlackInboxSettings, inbox.settings, label="Slack")


def credentials_of(inbox: InboxConfig) -> SlackInboxCredentials:
    return read_stored(SlackInboxCredentials, inbox.credentials, label="Slack")
