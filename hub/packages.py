"""The packages the hub is assembled from: one list for the app (routes, hooks) and Alembic (models).
A new channel is one line here."""

from __future__ import annotations

import importlib
from types import ModuleType

PACKAGES = [
    "hub.api",
    "channels.api",
    "channels.email",
    "channels.sms",
    "channels.slack",
    "channels.chat",
    "ticketing",
    "knowledge_base",
    "web",
    "web.inbox",
    "web.widget",
    "web.help",
    "web.dashboard",
]


def import_optional(name: str) -> ModuleType | None:
    """The module, or None when it (or its package) is not part of this build."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise


def import_all_models() -> None:
    """Every package's tables on the one metadata (`hub.db.Base`)."""
    import hub.models  # noqa: F401

    for name in PACKAGES:
        import_optional(f"{name}.models")
