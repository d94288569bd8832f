"""page logins a user can list and end: the browser and when it was last seen

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_logins") as batch:
        batch.add_column(sa.Column("user_agent", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_web_logins_user", ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("web_logins") as batch:
        batch.drop_index("ix_web_logins_user")
        batch.drop_column("last_seen_at")
        batch.drop_column("user_agent")
