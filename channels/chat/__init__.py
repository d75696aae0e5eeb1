"""The website chat channel: visitor sessions, the `/ws/widget` socket, uploads; replies go out over the
realtime bus to the visitor's open widgets (and wait in history for a visitor who left)."""

from channels.chat import ratelimit, reads
from channels.chat.routes import widget_attachment, widget_session, widget_upload
from channels.chat.send import send
from channels.chat.settings import ChatInboxCredentials, ChatInboxSettings
from channels.chat.socket import widget_socket
from hub.extension import ChannelSpec, Extension

extension = Extension(
    name="channel-chat",
    route_handlers=[widget_session, widget_upload, widget_attachment],
    sockets={"/ws/widget": widget_socket},
    on_shutdown=[ratelimit.close, reads.close],
    channel=ChannelSpec(
        kind="chat",
        label="Website chat",
        identity_kind="visitor",
        send=send,
        settings_type=ChatInboxSettings,
        credentials_type=ChatInboxCredentials,
        supports_html=False,
        supports_attachments=True,
    ),
)
