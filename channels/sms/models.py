"""Tables of the SMS channel (migration 0002_channels)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, BigId, IdMixin, utcnow


class SmsOptOut(IdMixin, Base):
    """A number that texted STOP to an inbox; nothing is sent to it until it texts START."""

    __tablename__ = "sms_opt_outs"
    __table_args__ = (UniqueConstraint("inbox_id", "phone"),)

    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False)
    phone: Mapped[str] = mapped_column(String(32), nullable=False)
    keyword: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
