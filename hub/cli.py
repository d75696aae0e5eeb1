"""The `hub` command: serve, worker, migrate, createuser, and whatever packages add."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from pathlib import Path

import typer

from hub.settings import Settings, SettingsError, get_settings

app = typer.Typer(help="Support hub: omnichannel customer support.", no_args_is_help=True, add_completion=False)


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        typer.secho(f"Configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


def _migrate(settings: Settings) -> None:
    from hub import crypto
    from hub.migrate import upgrade

    crypto.configure(settings.secret_key)
    upgrade(settings.effective_database_url)


@app.command()
def migrate() -> None:
    """Apply database migrations (alembic upgrade head)."""
    settings = _settings()
    _migrate(settings)
    typer.echo("Database is up to date.")


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to bind (default HUB_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default HUB_PORT or 8000)."),
    workers: int = typer.Option(None, help="Web processes (needs REDIS_URL for more than one)."),
) -> None:
    """Run the web process: API, inbox, widget, help center, webhooks (and the SMTP listener)."""
    import msgspec
    import uvicorn

    settings = _settings()
    overrides = {k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None}
    if overrides:
        settings = msgspec.structs.replace(settings, **overrides)
    if settings.workers > 1 and not settings.redis_url:
        typer.secho("More than one web process needs REDIS_URL for shared realtime and jobs.", fg="red", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    _migrate(settings)
    if settings.seed_demo:
        login = asyncio.run(_seed(settings))
        if login:
            typer.secho(login, fg="green")
        elif (Path(settings.data_dir) / "demo-login.txt").exists() and settings.is_sqlite:
            typer.secho((Path(settings.data_dir) / "demo-login.txt").read_text().strip(), fg="green")
    typer.echo(f"Support hub on {settings.base_url}  (agent inbox: {settings.base_url}/app)")
    _export_settings(settings)
    uvicorn.run(
        "hub.asgi:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
        ws="websockets-sansio",
        # Chat frames are small JSON: compressing them saves little and costs a zlib context per socket
        # (tens of KB for each browser that negotiates it) and CPU for every frame sent to every agent.
        ws_per_message_deflate=False,
        proxy_headers=True,
        server_header=False,
    )


def _export_settings(settings: Settings) -> None:
    import os

    os.environ["HUB_HOST"] = settings.host
    os.environ["HUB_PORT"] = str(settings.port)
    os.environ["HUB_SECRET_KEY"] = settings.secret_key


async def _seed(settings: Settings) -> str | None:
    from hub import crypto, db
    from hub.app import load_extensions, start_services, stop_services
    from hub.seed import seed_demo

    load_extensions()
    crypto.configure(settings.secret_key)
    quiet = Settings(**{**{f: getattr(settings, f) for f in settings.__struct_fields__}, "smtp_enabled": False})
    await start_services(quiet, web=False)
    try:
        return await seed_demo(Path(settings.data_dir))
    finally:
        await stop_services()
        db._engine = None


@app.command()
def worker(concurrency: int = typer.Option(20, help="Jobs run at once.")) -> None:
    """Run background jobs from the Redis queue (deliveries, SLA timers, webhooks)."""
    settings = _settings()
    if not settings.redis_url:
        typer.secho("`hub worker` needs REDIS_URL; without it `hub serve` runs jobs itself.", fg="red", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    _migrate(settings)
    asyncio.run(_worker(settings, concurrency))


async def _worker(settings: Settings, concurrency: int) -> None:
    from hub.app import load_extensions, start_services, stop_services
    from hub.jobs import get_queue
    from hub.jobs.saq_queue import SaqQueue, build_worker

    load_extensions()
    await start_services(settings, web=False)
    queue = get_queue()
    assert isinstance(queue, SaqQueue)
    w = build_worker(queue, concurrency=concurrency)
    typer.echo(f"Worker running {len(w.functions)} job types with concurrency {concurrency}.")
    try:
        await w.start()  # returns on SIGINT/SIGTERM (SAQ installs the handlers)
    finally:
        await w.stop()
        await stop_services()


@app.command()
def createuser(
    email: str,
    name: str = typer.Option("", help="Display name."),
    role: str = typer.Option("agent", help="admin, manager or agent."),
    password: str = typer.Option(None, help="Leave out to generate one."),
) -> None:
    """Create a user and print their password."""
    from hub.models.user import ROLES

    if role not in ROLES:
        typer.secho(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.", fg="red", err=True)
        raise typer.Exit(2)
    settings = _settings()
    _migrate(settings)
    email = email.strip().lower()
    password = password or secrets.token_urlsafe(12)
    created = asyncio.run(_createuser(settings, email, name, role, password))
    if not created:
        typer.secho(f"A user with email {email} already exists.", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"Created {role} {email} with password {password}")


async def _createuser(settings: Settings, email: str, name: str, role: str, password: str) -> bool:
    from sqlalchemy import select

    from hub import crypto, db
    from hub.auth.passwords import hash_password
    from hub.models import User

    crypto.configure(settings.secret_key)
    db.init_engine(settings.effective_database_url)
    try:
        async with db.session_scope() as session:
            if (await session.execute(select(User).where(User.email == email.lower()))).scalar_one_or_none():
                return False
            session.add(User(email=email.lower(), name=name, role=role, password_hash=hash_password(password)))
        return True
    finally:
        await db.dispose_engine()


@app.command()
def secret() -> None:
    """Print a new random SECRET_KEY."""
    typer.echo(secrets.token_urlsafe(48))


def main() -> None:
    from hub.app import load_extensions

    for ext in load_extensions():
        if ext.cli is not None:
            app.add_typer(ext.cli, name=ext.name)
        for command in ext.cli_commands:
            app.command()(command)
    try:
        app()
    except SettingsError as exc:
        typer.secho(f"Configuration error: {exc}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
