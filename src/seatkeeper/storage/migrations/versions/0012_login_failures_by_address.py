"""login failures by address: logins are throttled per address across usernames

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_login_failures_source", "login_failures", ["source", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_source", table_name="login_failures")
