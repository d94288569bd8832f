"""agent side limits: open Interactions per session, and who asked in a refused open

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs, as in 0009: copying the accounts table would trip its foreign keys.
    op.add_column(
        "accounts",
        sa.Column("max_interactions", sa.Integer(), server_default="10", nullable=False),
    )
    op.add_column("denials", sa.Column("requester", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("denials") as batch:
        batch.drop_column("requester")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("max_interactions")
