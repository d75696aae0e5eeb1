"""Settings of an SMS inbox served through Twilio (or a Twilio-compatible provider), checked when saved."""

from __future__ import annotations

import msgspec

from hub.identities import InvalidAddress, normalise_phone
from hub.inboxes import Misconfigured as Misconfigured  # re-exported: what the channel's modules catch
from hub.inboxes import read_stored
from hub.outbound import InboxConfig

TWILIO_API = "https://api.twilio.com"
MAX_BODY = 1600  # Twilio refuses longer bodies (error 21617)


class SmsInboxSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # The inbox's own number in E.164; replies are sent from it (or from the messaging service below).
    phone_number: str = ""
    messaging_service_sid: str = ""
    # Where the Twilio REST API lives: Twilio itself, a compatible provider, or a local test double.
    api_host: str = TWILIO_API
    # The public base URL Twilio calls (the hub's PUBLIC_URL when empty); signatures are computed over it,
    # so set it when the hub runs behind a proxy that rewrites the host or scheme.
    public_base_url: str = ""
    # Sent back as the TwiML answer when a customer texts HELP; leave empty to let Twilio answer.
    help_reply: str = ""
    # Region assumed for numbers written without a country code.
    default_region: str = "US"

    def __post_init__(self) -> None:
        if not self.phone_number and not self.messaging_service_sid:
            raise ValueError("set phone_number (the inbox's Twilio number) or messaging_service_sid")
        if self.phone_number:
            try:
                self.phone_number = normalise_phone(self.phone_number, self.default_region)
            except InvalidAddress as exc:
                raise ValueError(f"phone_number: {exc}") from exc
        for name in ("api_host", "public_base_url"):
            value = getattr(self, name)
            if value and not value.startswith(("http://", "https://")):
                raise ValueError(f"{name} must start with http:// or https://")
            setattr(self, name, value.rstrip("/"))


class SmsInboxCredentials(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    account_sid: str
    # Twilio signs its webhooks with the auth token, so it is needed even when an API key sends.
    auth_token: str
    api_key_sid: str = ""
    api_key_secret: str = ""


def check(inbox: InboxConfig) -> None:
    """Raises Misconfigured unless the inbox's settings and credentials can be read."""
    settings_of(inbox)
    credentials_of(inbox)


def settings_of(inbox: InboxConfig) -> SmsInboxSettings:
    return read_stored(SmsInboxSettings, inbox.settings, label="SMS")


def credentials_of(inbox: InboxConfig) -> SmsInboxCredentials:
    return read_stored(SmsInboxCredentials, inbox.credentials, label="SMS")
