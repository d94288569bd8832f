"""overdraft in usage days

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 15:00:00

The kept usage days gain the session-time beyond the licenses (the overdraft minutes of
the usage figures). A day kept before, whose peak stayed within its licenses, had none:
0. A day that went beyond them is dropped, to be computed again from the session rows,
unless it is final (its rows are gone): it keeps NULL, an overdraft not known, rather
than a figure made up.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: copying usage_days would trip the foreign keys of its figures.
    op.add_column("usage_days", sa.Column("micros_overdraft", sa.BigInteger(), nullable=True))
    days = sa.table(
        "usage_days",
        sa.column("max_concurrent", sa.Integer()),
        sa.column("licenses", sa.Integer()),
        sa.column("final", sa.Boolean()),
        sa.column("micros_overdraft", sa.BigInteger()),
    )
    c = days.c
    op.execute(days.update().where(c.max_concurrent <= c.licenses).values(micros_overdraft=0))
    op.execute(days.delete().where(c.micros_overdraft.is_(None), c.final.is_(sa.false())))


def downgrade() -> None:
    with op.batch_alter_table("usage_days") as batch:
        batch.drop_column("micros_overdraft")
