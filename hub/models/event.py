"""An append-only record of what happened to a conversation or contact; reports read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, BigId, IdMixin, utcnow


class Event(IdMixin, Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_conversation", "conversation_id", "id"),
        Index("ix_events_contact", "contact_id", "id"),
        Index("ix_events_kind_time", "kind", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=True
    )
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=True)
    inbox_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    actor_kind: Mapped[str] = mapped_column(String(16), default="system", nullable=False)
    actor_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
