"""The SMS channel through Twilio: inbound SMS/MMS webhooks, replies through the Messages API, delivery
status callbacks, and STOP/START opt-outs honoured."""

from channels.sms import send as sender
from channels.sms.settings import SmsInboxCredentials, SmsInboxSettings
from channels.sms.webhooks import twilio_sms, twilio_status
from hub.extension import ChannelSpec, Extension

extension = Extension(
    name="channel-sms",
    route_handlers=[twilio_sms, twilio_status],
    on_shutdown=[sender.close],
    channel=ChannelSpec(
        kind="sms",
        label="SMS (Twilio)",
        identity_kind="phone",
        send=sender.send,
        settings_type=SmsInboxSettings,
        credentials_type=SmsInboxCredentials,
        supports_html=False,
        supports_attachments=False,
    ),
)
