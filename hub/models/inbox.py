"""An inbox is one configured entry point; its channel kind says which adapter serves it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.crypto import EncryptedJSON
from hub.db import Base, BigId, IdMixin, TimestampMixin


class Inbox(IdMixin, TimestampMixin, Base):
    __tablename__ = "inboxes"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    # A public, unguessable handle used in URLs and by the widget; never a secret.
    public_token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # Channel settings that are not secret (addresses, API host, widget colour ...).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    # Secrets (API keys, signing secrets, passwords), Fernet-encrypted at rest.
    credentials: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict, nullable=False)
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


class InboxMember(Base):
    __tablename__ = "inbox_members"
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
