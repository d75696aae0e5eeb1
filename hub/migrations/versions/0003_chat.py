"""chat: widget visitors (verified identity, pre-chat answers, read position).

Revision ID: 0003_chat
Revises: 0002_channels
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0003_chat"
down_revision: str | None = "0002_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_visitors",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("visitor_id", sa.String(length=64), nullable=False),
        sa.Column("inbox_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("last_read_message_id", ID, nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("last_seen_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_chat_visitors_inbox_id_inboxes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_chat_visitors_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_visitors")),
        sa.UniqueConstraint("visitor_id", name=op.f("uq_chat_visitors_visitor_id")),
    )
    op.create_index("ix_chat_visitors_contact", "chat_visitors", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_chat_visitors_contact", table_name="chat_visitors")
    op.drop_table("chat_visitors")
