"""Settings of a Slack inbox (one Slack app installed in one workspace), checked when the inbox is saved."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from hub.outbound import InboxConfig

SLACK_API = "https://slack.com/api/"

S = TypeVar("S", bound=msgspec.Struct)


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


class Misconfigured(ValueError):
    """The inbox's stored settings or credentials are incomplete; an admin must fix them."""


def load(kind: type[S], raw: dict[str, Any]) -> S:
    """Read stored settings leniently: keys this version does not know are ignored, not fatal at runtime."""
    known = set(kind.__struct_fields__)
    try:
        return msgspec.convert({k: v for k, v in raw.items() if k in known}, kind)
    except msgspec.ValidationError as exc:
        what = "credentials" if kind.__name__.endswith("Credentials") else "settings"
        raise Misconfigured(
            f"the Slack inbox's {what} are incomplete or invalid ({exc}); fix them in the inbox settings"
        ) from exc


def settings_of(inbox: InboxConfig) -> SlackInboxSettings:
    return load(SlackInboxSettings, inbox.settings)


def credentials_of(inbox: InboxConfig) -> SlackInboxCredentials:
    return load(SlackInboxCredentials, inbox.credentials)
