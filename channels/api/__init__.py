"""The generic API channel: any system can post signed JSON messages in and receive signed replies."""

from channels.api import send as sender
from channels.api.settings import ApiInboxCredentials, ApiInboxSettings
from channels.api.webhooks import receive
from hub.extension import ChannelSpec, Extension

extension = Extension(
    name="channel-api",
    route_handlers=[receive],
    on_shutdown=[sender.close],
    channel=ChannelSpec(
        kind="api",
        label="API",
        identity_kind="external",
        send=sender.send,
        settings_type=ApiInboxSettings,
        credentials_type=ApiInboxCredentials,
        supports_html=True,
    ),
)
