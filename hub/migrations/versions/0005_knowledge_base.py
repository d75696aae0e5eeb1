"""knowledge_base: tables owned by the knowledge_base package (filled in by that package's work).

Revision ID: 0005_knowledge_base
Revises: 0004_ticketing
"""

from collections.abc import Sequence

revision: str = "0005_knowledge_base"
down_revision: str | None = "0004_ticketing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
