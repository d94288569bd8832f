"""usage rollups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 22:54:23.095517
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_days",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("through", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("denials", sa.Integer(), nullable=False),
        sa.Column("open_at_through", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_usage_days_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "time_zone", "day", name=op.f("pk_usage_days")),
    )
    op.create_index("ix_usage_days_through", "usage_days", ["account_id", "through"])
    op.create_index("ix_agent_sessions_ended", "agent_sessions", ["account_id", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_agent_sessions_ended", "agent_sessions")
    op.drop_index("ix_usage_days_through", "usage_days")

    op.drop_table("usage_days")
