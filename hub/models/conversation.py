"""The conversation is the ticket: one thread with one contact through one inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, BigId, IdMixin, TimestampMixin, utcnow

STATUSES = ("open", "pending", "snoozed", "resolved", "closed")
PRIORITIES = ("none", "low", "medium", "high", "urgent")


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_activity", "last_activity_at", "id"),
        Index("ix_conversations_status_activity", "status", "last_activity_at", "id"),
        Index("ix_conversations_inbox_activity", "inbox_id", "last_activity_at", "id"),
        Index("ix_conversations_assignee_activity", "assignee_id", "last_activity_at", "id"),
        Index("ix_conversations_team_activity", "team_id", "last_activity_at", "id"),
        Index("ix_conversations_thread", "inbox_id", "thread_key"),
        Index("ix_conversations_contact", "contact_id", "inbox_id"),
    )

    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False)
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="open", nullable=False)
    priority: Mapped[str] = mapped_column(String(16), default="none", nullable=False)
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    subject: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    thread_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    last_message_preview: Mapped[str] = mapped_column(String(280), default="", nullable=False)
    first_response_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the customer last wrote and is still waiting for an answer (None when the ball is with them).
    waiting_since: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    snoozed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    message_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)


class ConversationTag(Base):
    __tablename__ = "conversation_tags"
    __table_args__ = (Index("ix_conversation_tags_tag", "tag", "conversation_id"),)

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
