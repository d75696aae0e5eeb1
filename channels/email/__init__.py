"""The email channel: mail in over the hub's SMTP listener, IMAP polling, an MTA webhook or an mbox/Maildir
import; replies out over SMTP with threading headers and a signed plus-address Reply-To; bounces mark the
original reply failed."""

from __future__ import annotations

import sys

from channels.email import imap
from channels.email.cli import import_mail, smtp
from channels.email.settings import EmailCredentials, EmailSettings
from channels.email.webhooks import email_raw
from hub import db
from hub.extension import ChannelSpec, Extension
from hub.outbound import OutboundMessage, SendResult
from hub.settings import Settings

_scheduler = imap.PollScheduler()


async def send_email(out: OutboundMessage) -> SendResult:
    """aiosmtplib loads with the first reply, not when a web process starts."""
    from channels.email.send import send

    return await send(out)


def _served_settings() -> Settings | None:
    """The settings of the app this process serves (`hub serve` / `uvicorn hub.asgi:app`).

    Hooks get no arguments; the ASGI entry module holds the app built from the environment. An app built
    in-process with explicit settings (the test client) has no such module, so it starts no listener.
    """
    module = sys.modules.get("hub.asgi")
    app = getattr(module, "app", None)
    settings = getattr(getattr(app, "state", None), "settings", None)
    if not isinstance(settings, Settings):
        return None
    # Only when that app is the one running here (same database), not merely imported by someone.
    running = db.get_engine().url.render_as_string(hide_password=False)
    return settings if running == settings.effective_database_url else None


async def _web_startup() -> None:
    settings = _served_settings()
    if settings is None:
        return
    if settings.smtp_enabled:
        from channels.email.smtp_server import start_listener  # aiosmtpd only where the listener runs

        await start_listener(settings.smtp_host, settings.smtp_port)
    await _scheduler.start()


async def _shutdown() -> None:
    await _scheduler.stop()
    smtp_server = sys.modules.get("channels.email.smtp_server")
    if smtp_server is not None:
        await smtp_server.stop_listener()


extension = Extension(
    name="channel-email",
    route_handlers=[email_raw],
    on_web_startup=[_web_startup],
    on_shutdown=[_shutdown],
    cli_commands=[smtp, import_mail],
    channel=ChannelSpec(
        kind="email",
        label="Email",
        identity_kind="email",
        send=send_email,
        settings_type=EmailSettings,
        credentials_type=EmailCredentials,
        supports_html=True,
        supports_attachments=True,
    ),
)
