"""The Slack channel: Events API in (threads and DMs become conversations), replies through chat.postMessage
into the same thread."""

from channels.slack.settings import SlackInboxCredentials, SlackInboxSettings
from channels.slack.webhooks import slack_events
from hub.extension import ChannelSpec, Extension
from hub.outbound import OutboundMessage, SendResult


async def _send(out: OutboundMessage) -> SendResult:
    """The Slack SDK's web client (and aiohttp) loads with the first reply, not when a web process starts."""
    from channels.slack import send as sender

    return await sender.send(out)


extension = Extension(
    name="channel-slack",
    route_handlers=[slack_events],
    channel=ChannelSpec(
        kind="slack",
        label="Slack",
        identity_kind="slack",
        send=_send,
        settings_type=SlackInboxSettings,
        credentials_type=SlackInboxCredentials,
        supports_html=False,
        supports_attachments=True,
    ),
)
