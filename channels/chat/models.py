"""One row per widget visitor: what the session endpoint learned (verified identity, pre-chat answers)
and how far the visitor has read. Tokens verify without it; it only carries state worth keeping."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, BigId, IdMixin, utcnow


class ChatVisitor(IdMixin, Base):
    __tablename__ = "chat_visitors"
    __table_args__ = (Index("ix_chat_visitors_contact", "contact_id"),)

    visitor_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False)
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Pre-chat answers and unverified details the visitor typed (never used to link contacts).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    last_read_message_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
