"""How channels, ticketing, the knowledge base and the web UI plug into the hub.

Each package exposes one `Extension` (a channel: `extension = Extension(..., channel=ChannelSpec(...))`);
the composition root (`hub.app`) collects them. The kernel calls only these hooks and never imports a
package by name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from hub.outbound import OutboundMessage, SendResult

Hook = Callable[[], Awaitable[None]]
Sender = Callable[[OutboundMessage], Awaitable[SendResult]]


@dataclass
class ChannelSpec:
    kind: str  # the value stored in Inbox.channel: api, email, sms, slack, chat
    label: str
    identity_kind: str  # which identity kind replies go to: email, phone, slack, visitor, external
    send: Sender
    # msgspec structs validated when an inbox is saved; unknown keys rejected with a readable message.
    settings_type: type[msgspec.Struct] | None = None
    credentials_type: type[msgspec.Struct] | None = None
    # Channels that cannot show a rich reply box (SMS) can say so; the UI reads this.
    supports_html: bool = False
    supports_attachments: bool = True


@dataclass
class Extension:
    name: str
    route_handlers: Sequence[Any] = ()
    # WebSocket paths served in front of the framework (`hub.raw_sockets`): path -> handler(socket, settings).
    sockets: Mapping[str, Any] = field(default_factory=dict)
    # Called once per web/worker process start, after the database, broker and job queue are up.
    setup: Callable[[], None] | None = None
    on_startup: Sequence[Hook] = ()
    on_shutdown: Sequence[Hook] = ()
    # Hooks only the web process runs (SMTP listener, IMAP poller are opt-in per process).
    on_web_startup: Sequence[Hook] = ()
    template_dirs: Sequence[Path] = ()
    static_dirs: dict[str, Path] = field(default_factory=dict)  # URL path prefix -> directory
    cli: Any = None  # a typer.Typer added as `hub <name> ...`
    cli_commands: Sequence[Callable[..., Any]] = ()  # top-level `hub <command>` functions
    channel: ChannelSpec | None = None
    # Routes exempt from session CSRF (provider webhooks authenticate by signature instead).
    csrf_exempt: Sequence[str] = ()


_registry: dict[str, Extension] = {}


def register(extension: Extension) -> None:
    _registry[extension.name] = extension


def extensions() -> list[Extension]:
    return list(_registry.values())


def channels() -> dict[str, ChannelSpec]:
    return {e.channel.kind: e.channel for e in _registry.values() if e.channel is not None}


def channel(kind: str) -> ChannelSpec:
    spec = channels().get(kind)
    if spec is None:
        raise LookupError(f"no channel {kind!r} is installed")
    return spec
