"""The SMS channel through Twilio: inbound SMS/MMS webhooks, replies through the Messages API, delivery
status callbacks, and STOP/START opt-outs honoured."""

import sys

from channels.sms.settings import SmsInboxCredentials, SmsInboxSettings
from channels.sms.webhooks import twilio_sms, twilio_status
from hub.extension import ChannelSpec, Extension
from hub.outbound import OutboundMessage, SendResult


async def _send(out: OutboundMessage) -> SendResult:
    """The Twilio client (and its aiohttp stack) loads with the first reply, not when a web process starts."""
    from channels.sms import send as sender

    return await sender.send(out)


async def _close() -> None:
    sender = sys.modules.get("channels.sms.send")
    if sender is not None:
        await sender.close()


extension = Extension(
    name="channel-sms",
    route_handlers=[twilio_sms, twilio_status],
    on_shutdown=[_close],
    channel=ChannelSpec(
        kind="sms",
        label="SMS (Twilio)",
        identity_kind="phone",
        send=_send,
        settings_type=SmsInboxSettings,
        credentials_type=SmsInboxCredentials,
        supports_html=False,
        supports_attachments=False,
    ),
)
