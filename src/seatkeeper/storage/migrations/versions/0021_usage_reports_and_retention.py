"""usage reports and retention: kept days of holders and shorter timeouts; retention

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 06:00:00

Reports over any period answer from kept days, as the usage graph does:
`usage_day_holders` keeps, per account, zone and local day, how long each agent (and the
Guests, as holder 0) held licenses, how long of it after their last activity while the
session waited for its timeout, how many sessions they started and the longest of them;
`usage_day_timeouts` keeps, per day and candidate timeout, the peak the day would have
had and the license time it would have freed had timed-out sessions ended that long
after their last activity. Both belong to the `usage_days` row of the same day and go
with it.

`accounts.retention_days` says how long session, Interaction and refusal rows are kept
(400 days unless an admin sets it); a day whose rows the retention task deleted is
`final` in `usage_days`: it is never dropped or computed again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY = ("account_id", "time_zone", "day")


def upgrade() -> None:
    # Plain ADD COLUMNs, as in 0017: copying the accounts table would trip its foreign keys.
    op.add_column(
        "accounts",
        sa.Column("retention_days", sa.Integer(), nullable=False, server_default="400"),
    )
    op.add_column(
        "usage_days",
        sa.Column("final", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "usage_day_holders",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("held_micros", sa.BigInteger(), nullable=False),
        sa.Column("idle_micros", sa.BigInteger(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("longest_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*DAY, "holder_id"),
        sa.ForeignKeyConstraint(
            list(DAY),
            [f"usage_days.{c}" for c in DAY],
            name="fk_usage_day_holders_day",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "usage_day_timeouts",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("peak", sa.Integer(), nullable=False),
        sa.Column("freed_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*DAY, "minutes"),
        sa.ForeignKeyConstraint(
            list(DAY),
            [f"usage_days.{c}" for c in DAY],
            name="fk_usage_day_timeouts_day",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("usage_day_timeouts")
    op.drop_table("usage_day_holders")
    with op.batch_alter_table("usage_days") as batch:
        batch.drop_column("final")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("retention_days")
