"""channels: tables owned by the channels package (SMS opt-outs).

Revision ID: 0002_channels
Revises: 0001_kernel
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0002_channels"
down_revision: str | None = "0001_kernel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_opt_outs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("inbox_id", ID, nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_sms_opt_outs_inbox_id_inboxes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_opt_outs")),
        sa.UniqueConstraint("inbox_id", "phone", name=op.f("uq_sms_opt_outs_inbox_id_phone")),
    )


def downgrade() -> None:
    op.drop_table("sms_opt_outs")
