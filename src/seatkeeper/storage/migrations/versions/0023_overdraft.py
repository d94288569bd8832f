"""overdraft: sessions allowed beyond the licenses, and the sessions opened in it

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 14:00:00

`accounts.overdraft` is how many sessions an account may open beyond its licenses (0
unless a super_admin grants more); `agent_sessions.overdraft` says a session was opened
while all the licenses were held. It is set when the session opens and never changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs, as in 0017 and 0021: copying either table in SQLite's batch mode
    # would trip the foreign keys that name it. The service checks the overdraft's range.
    op.add_column(
        "accounts",
        sa.Column("overdraft", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "agent_sessions",
        sa.Column("overdraft", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("agent_sessions") as batch:
        batch.drop_column("overdraft")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("overdraft")
