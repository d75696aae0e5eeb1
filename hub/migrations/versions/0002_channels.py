"""channels: tables owned by the channels package (filled in by that package's work).

Revision ID: 0002_channels
Revises: 0001_kernel
"""

from collections.abc import Sequence

revision: str = "0002_channels"
down_revision: str | None = "0001_kernel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
