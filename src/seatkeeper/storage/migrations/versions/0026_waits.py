"""waits: agents waiting in line for a license

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 17:00:00

A row per place in an account's line: who asked (an agent, or a Guest), the hash of the
ticket that follows it, when it was asked and until when it is kept without being
followed, and how it ended (seated, left, timed out) with the session it was given.
The line itself, the waits not ended, is kept in a small partial index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("asker", sa.String(64)),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("session_id", sa.Uuid()),
        sa.Column("freed_at", sa.DateTime(timezone=True)),
        sa.Column("collected_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("(ended_at IS NULL) = (outcome IS NULL)", name="ended_has_outcome"),
    )
    op.create_index("ux_waits_token_hash", "waits", ["token_hash"], unique=True)
    op.create_index(
        "ix_waits_line",
        "waits",
        ["account_id", "id"],
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index("ix_waits_account_asked", "waits", ["account_id", "asked_at"])


def downgrade() -> None:
    op.drop_table("waits")
