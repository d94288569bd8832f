"""active capacity alerts found by an index

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 13:30:00

Every instance looks for active capacity alerts every second (services.alerts.evaluate),
and a claim or logout near a level reads its account's: a partial index of the alerts not
cleared yet finds them without reading the ones kept since.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("cleared_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_capacity_alerts_active",
        "capacity_alerts",
        ["account_id", "level"],
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_capacity_alerts_active", table_name="capacity_alerts")
