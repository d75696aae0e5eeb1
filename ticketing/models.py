"""Tables owned by ticketing: rules, SLA policies and clocks, business hours, canned responses, macros,
automation and its webhook outbox, CSAT surveys, assignment settings and the per-conversation metrics
that reports read in one indexed scan.

The kernel never imports this module; ticketing learns about conversations from domain events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.crypto import EncryptedJSON
from hub.db import Base, BigId, IdMixin, TimestampMixin, utcnow


class BusinessHours(IdMixin, TimestampMixin, Base):
    """A weekly schedule in one time zone, with holidays: the clock SLA targets and metrics can count in."""

    __tablename__ = "business_hours"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", nullable=False)
    # {"0": [["09:00", "18:00"]], ...}: weekday (0 = Monday) -> opening intervals, local time.
    weekly: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)  # ISO dates, local
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class SlaPolicy(IdMixin, TimestampMixin, Base):
    __tablename__ = "sla_policies"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    first_response_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_response_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When set, targets are counted in these business hours; otherwise on the wall clock.
    business_hours_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("business_hours.id", ondelete="SET NULL"), nullable=True
    )
    warn_ratio: Mapped[float] = mapped_column(Float, default=0.8, nullable=False)
    # Applied to new conversations of this inbox when no routing rule chose a policy.
    inbox_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="SET NULL"), nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


class SlaClock(IdMixin, Base):
    """One running target: the first response, one next-response cycle, or the resolution."""

    __tablename__ = "sla_clocks"
    __table_args__ = (
        Index("ix_sla_clocks_conversation", "conversation_id", "kind"),
        Index("ix_sla_clocks_due", "state", "due_at"),
    )

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    inbox_id: Mapped[int] = mapped_column(BigId, nullable=False)
    policy_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sla_policies.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # first_response, next_response, resolution
    # running -> met | breached (still counted until met) | cancelled
    state: Mapped[str] = mapped_column(String(16), default="running", nullable=False)
    started_at: Mapped[datetime] = mapped_column(nullable=False)
    warn_at: Mapped[datetime | None] = mapped_column(nullable=True)
    due_at: Mapped[datetime] = mapped_column(nullable=False)
    warned_at: Mapped[datetime | None] = mapped_column(nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(nullable=True)
    met_at: Mapped[datetime | None] = mapped_column(nullable=True)


class RoutingRule(IdMixin, TimestampMixin, Base):
    __tablename__ = "routing_rules"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    match: Mapped[str] = mapped_column(String(8), default="all", nullable=False)  # all | any
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    stop: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


class AutomationRule(IdMixin, TimestampMixin, Base):
    __tablename__ = "automation_rules"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    event: Mapped[str] = mapped_column(String(64), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    match: Mapped[str] = mapped_column(String(8), default="all", nullable=False)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    # Webhook signing secrets of this rule's webhook actions, by action index; encrypted at rest.
    secrets: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict, nullable=False)


class WebhookDelivery(IdMixin, Base):
    """The outbox of outbound webhooks: stored before the first try, so nothing is lost on a crash."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state", "state", "next_attempt_at"),)

    rule_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("automation_rules.id", ondelete="SET NULL"), nullable=True
    )
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    secret: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict, nullable=False)
    state: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)


class CannedResponse(IdMixin, TimestampMixin, Base):
    __tablename__ = "canned_responses"

    shortcut: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)


class Macro(IdMixin, TimestampMixin, Base):
    __tablename__ = "macros"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)


class TeamAssignment(Base):
    """How a team hands out new conversations, and whom round robin served last."""

    __tablename__ = "team_assignment"

    team_id: Mapped[int] = mapped_column(BigId, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), default="none", nullable=False)  # none, round_robin, least_loaded
    last_user_id: Mapped[int | None] = mapped_column(BigId, nullable=True)


class CsatSurvey(IdMixin, Base):
    """One rating request per resolution; answered at most once."""

    __tablename__ = "csat_surveys"
    __table_args__ = (Index("ix_csat_surveys_conversation", "conversation_id", "id"),)

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    inbox_id: Mapped[int] = mapped_column(BigId, nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    agent_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    team_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    resolution: Mapped[int] = mapped_column(Integer, nullable=False)  # 1 for the first resolve, 2 ...
    message_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ConversationMetrics(Base):
    """One row per conversation, kept current by event subscribers, so reports are one indexed scan."""

    __tablename__ = "conversation_metrics"
    __table_args__ = (
        Index("ix_conversation_metrics_created", "created_at"),
        Index("ix_conversation_metrics_inbox_created", "inbox_id", "created_at"),
    )

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    inbox_id: Mapped[int] = mapped_column(BigId, nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    team_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    sla_policy_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    business_hours_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    first_response_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_response_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_response_bh_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolution_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolution_bh_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolutions: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    sla_targets: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    sla_breaches: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    csat_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Since when the customer has been waiting for an agent's answer (None: the ball is with them).
    waiting_since: Mapped[datetime | None] = mapped_column(nullable=True)


class ResponseMetric(IdMixin, Base):
    """Every agent answer to a waiting customer: the first response and each next response."""

    __tablename__ = "response_metrics"
    __table_args__ = (
        # covering the report scan (range on time, then the filter and value columns): no table look-ups
        Index(
            "ix_response_metrics_time",
            "responded_at",
            "kind",
            "seconds",
            "bh_seconds",
            "inbox_id",
            "team_id",
            "channel",
            "agent_id",
        ),
        Index("ix_response_metrics_conversation", "conversation_id"),
    )

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # first, next
    inbox_id: Mapped[int] = mapped_column(BigId, nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    team_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    agent_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    waiting_since: Mapped[datetime] = mapped_column(nullable=False)
    responded_at: Mapped[datetime] = mapped_column(nullable=False)
    seconds: Mapped[float] = mapped_column(Float, nullable=False)
    bh_seconds: Mapped[float] = mapped_column(Float, nullable=False)
