"""capacity in usage days

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 01:20:00

The kept usage days gain time at the cap, peak demand and the license total they were
computed against. They are a cache of the session rows: the table is made anew, and
every day is computed again on first use.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create(extra: list[sa.Column[object]]) -> None:
    op.create_table(
        "usage_days",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("through", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("denials", sa.Integer(), nullable=False),
        sa.Column("open_at_through", sa.Integer(), nullable=False),
        *extra,
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_usage_days_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "time_zone", "day", name=op.f("pk_usage_days")),
    )
    op.create_index("ix_usage_days_through", "usage_days", ["account_id", "through"])


def upgrade() -> None:
    op.drop_table("usage_days")
    _create(
        [
            sa.Column("micros_at_cap", sa.BigInteger(), nullable=False),
            sa.Column("peak_demand", sa.Integer(), nullable=False),
            sa.Column("licenses", sa.Integer(), nullable=False),
        ]
    )


def downgrade() -> None:
    op.drop_table("usage_days")
    _create([])
