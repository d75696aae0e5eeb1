"""ticketing: tables owned by the ticketing package (filled in by that package's work).

Revision ID: 0004_ticketing
Revises: 0003_chat
"""

from collections.abc import Sequence

revision: str = "0004_ticketing"
down_revision: str | None = "0003_chat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
