"""chat: tables owned by the chat package (filled in by that package's work).

Revision ID: 0003_chat
Revises: 0002_channels
"""

from collections.abc import Sequence

revision: str = "0003_chat"
down_revision: str | None = "0002_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
