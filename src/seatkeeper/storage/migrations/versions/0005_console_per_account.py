"""console per account

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 22:31:11.455637
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite has it): copying the table would trip the foreign keys
    # that point at accounts.
    op.add_column(
        "accounts",
        sa.Column("console_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("console_enabled")
