"""capacity alerts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, as in 0005: copying the table would trip its foreign keys.
    op.add_column(
        "accounts",
        sa.Column("alert_levels", sa.String(length=40), server_default="90,100", nullable=False),
    )
    op.create_table(
        "capacity_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("licenses", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_in_use", sa.Integer(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_in_use", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_capacity_alerts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_alerts")),
    )
    op.create_index("ix_capacity_alerts_account", "capacity_alerts", ["account_id", "raised_at"])


def downgrade() -> None:
    op.drop_table("capacity_alerts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("alert_levels")
