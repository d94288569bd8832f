"""logins being checked: until when a recorded attempt's password is still being checked

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Attempts recorded before the upgrade have been checked: null, failures.
    op.add_column(
        "login_failures", sa.Column("checking_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_column("checking_until")
