"""Settings come from environment variables (and an optional `.env`), checked once at start.

Everything has an embedded default so that `hub serve` runs on a bare machine; production swaps in
PostgreSQL, Redis and Meilisearch purely by setting URLs.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

import msgspec


class SettingsError(Exception):
    """Raised with a message meant for the person starting the hub."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    data_dir: str = "var"
    database_url: str = ""
    redis_url: str = ""
    # Prefix for every Redis key and channel, so several hubs (or test runs) can share one Redis.
    redis_namespace: str = "hub"
    meilisearch_url: str = ""
    meilisearch_api_key: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_enabled: bool = True
    max_body_bytes: int = 1_048_576
    # How long a claimed outbound message may stay "sending" before another runner may retry it.
    delivery_lease_seconds: int = 120
    # With REDIS_URL, web processes only enqueue; set this to also consume jobs in the web process.
    jobs_in_web: bool = False
    # Group commit of concurrent plain inbound messages (hub.ingest_batch).
    ingest_batching: bool = True
    max_attachment_bytes: int = 10_485_760
    seed_demo: bool = True
    log_level: str = "info"
    workers: int = 1
    debug: bool = False

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{Path(self.data_dir).resolve() / 'hub.sqlite3'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick the async drivers."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


_PREFIXES = ("HUB_",)
_FIELDS = set(Settings.__struct_fields__)
_BARE_NAMES = {
    "DATABASE_URL",
    "REDIS_URL",
    "MEILISEARCH_URL",
    "MEILISEARCH_API_KEY",
    "SECRET_KEY",
    "PUBLIC_URL",
}


def _read_env(environ: dict[str, str]) -> dict[str, str]:
    raw: dict[str, str] = {}
    for key, value in environ.items():
        name = key
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                name = key[len(prefix) :]
        if name.lower() in _FIELDS and (key.startswith(_PREFIXES) or key in _BARE_NAMES):
            raw[name.lower()] = value
    return raw


def load_settings(environ: dict[str, str] | None = None, dotenv: bool = True) -> Settings:
    """Build settings from the environment; unknown values produce one readable error."""
    env = dict(os.environ if environ is None else environ)
    if dotenv and environ is None and Path(".env").exists():
        from dotenv import dotenv_values

        for key, value in dotenv_values(".env").items():
            if value is not None:
                env.setdefault(key, value)
    raw = _read_env(env)
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"Invalid setting: {exc}. Check your environment variables or .env file.") from exc
    url = settings.effective_database_url
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError(
            f"DATABASE_URL={settings.database_url!r} is not supported: use postgresql://user@host/db "
            "or leave it unset for the embedded SQLite database."
        )
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"REDIS_URL={settings.redis_url!r} must start with redis:// or rediss://.")
    if not 0 < settings.port < 65536:
        raise SettingsError(f"HUB_PORT={settings.port} is not a TCP port (1-65535).")
    if not settings.secret_key:
        settings = msgspec.structs.replace(settings, secret_key=_embedded_secret(Path(settings.data_dir)))
    elif len(settings.secret_key) < 32:
        raise SettingsError("SECRET_KEY must be at least 32 characters; generate one with `hub secret`.")
    return settings


def _embedded_secret(data_dir: Path) -> str:
    """On the embedded default the key lives beside the database so restarts keep sessions and secrets."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


_active: Settings | None = None


def set_active(settings: Settings | None) -> None:
    """`start_services` records the settings this process runs with, for startup hooks to read."""
    global _active
    _active = settings


def active() -> Settings:
    """The settings of the running services (which may differ from the environment's in tests)."""
    return _active if _active is not None else get_settings()
