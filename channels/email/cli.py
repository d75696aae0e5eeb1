"""Commands the email channel adds to `hub`: `hub smtp` (the listener as its own process, for a Procfile
line `smtp: hub smtp`) and `hub import-mail`."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import typer

from channels.email.importer import ImportResult
from hub.settings import Settings, SettingsError, get_settings


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        typer.secho(f"Configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


def smtp(
    host: str = typer.Option(None, help="Interface to bind (default HUB_SMTP_HOST)."),
    port: int = typer.Option(None, help="Port (default HUB_SMTP_PORT)."),
) -> None:
    """Run the SMTP listener that receives mail for the email inboxes (set HUB_SMTP_ENABLED=false on web)."""
    settings = _settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve_smtp(settings, host or settings.smtp_host, port or settings.smtp_port))


async def _serve_smtp(settings: Settings, host: str, port: int) -> None:
    from channels.email.smtp_server import SmtpListener
    from hub.app import start_services, stop_services

    await start_services(settings, web=False)
    listener = SmtpListener(host, port)
    try:
        await listener.start()
        typer.echo(f"SMTP listener on {host}:{port}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await listener.stop()
        await stop_services()


def import_mail(
    path: Path = typer.Argument(..., help="An mbox file or a Maildir folder."),
    inbox: str = typer.Option(..., "--inbox", help="The email inbox id (or public token) to import into."),
) -> None:
    """Import an mbox file or Maildir into an email inbox; running it again stores nothing twice."""
    from channels.email.importer import NotAMailbox

    settings = _settings()
    try:
        result = asyncio.run(_import(settings, path, inbox))
    except NotAMailbox as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    except LookupError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"{result.total} messages: {result.stored} stored, {result.duplicates} already there, "
        f"{result.bounces} delivery reports, {len(result.rejected)} rejected"
    )
    for line in result.rejected:
        typer.secho(f"  rejected {line}", fg="yellow", err=True)


async def _import(settings: Settings, path: Path, inbox: str) -> ImportResult:
    from channels.email.importer import import_mailbox
    from hub.app import start_services, stop_services

    quiet = Settings(**{**{f: getattr(settings, f) for f in settings.__struct_fields__}, "smtp_enabled": False})
    await start_services(quiet, web=False)
    try:
        return await import_mailbox(path, inbox)
    finally:
        await stop_services()
