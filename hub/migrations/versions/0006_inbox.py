"""inbox: per-agent read marks for unread counts (owned by web.inbox).

Revision ID: 0006_inbox
Revises: 0005_knowledge_base
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0006_inbox"
down_revision: str | None = "0005_knowledge_base"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbox_read_marks",
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("conversation_id", BigId, nullable=False),
        sa.Column("last_read_message_id", BigId, nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_inbox_read_marks_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_inbox_read_marks_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "conversation_id", name="pk_inbox_read_marks"),
    )
    op.create_index("ix_inbox_read_marks_conversation", "inbox_read_marks", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_read_marks_conversation", table_name="inbox_read_marks")
    op.drop_table("inbox_read_marks")
