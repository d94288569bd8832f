"""seat groups: licenses reserved for a group's members, and a maximum they hold at once

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 14:30:00

`seat_groups` and `seat_group_members`; `accounts.has_groups` says whether an account has
any (a claim on an account without groups reads nothing about them);
`agent_sessions.group_id` and `reserved` say which group a session counts under, and
whether it holds one of that group's reserved licenses.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seat_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(400), nullable=False),
        sa.Column("guests", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("maximum", sa.Integer()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        sa.CheckConstraint("maximum IS NULL OR maximum >= 0", name="maximum_not_negative"),
    )
    op.create_index(
        "ux_seat_groups_account_name", "seat_groups", ["account_id", "name_key"], unique=True
    )
    op.create_index(
        "ux_seat_groups_account_guests",
        "seat_groups",
        ["account_id"],
        unique=True,
        sqlite_where=sa.text("guests"),
        postgresql_where=sa.text("guests"),
    )
    op.create_table(
        "seat_group_members",
        sa.Column(
            "group_id",
            sa.Integer(),
            sa.ForeignKey("seat_groups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_index("ix_seat_group_members_user", "seat_group_members", ["user_id"])
    # Plain ADD COLUMNs, as in 0017, 0021 and 0023: copying either table in SQLite's batch
    # mode would trip the foreign keys that name it. `group_id` has no foreign key for the
    # same reason (SQLite cannot add one): deleting a group clears it in the sessions.
    op.add_column(
        "accounts",
        sa.Column("has_groups", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("agent_sessions", sa.Column("group_id", sa.Integer()))
    op.add_column(
        "agent_sessions",
        sa.Column("reserved", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("agent_sessions") as batch:
        batch.drop_column("reserved")
        batch.drop_column("group_id")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("has_groups")
    op.drop_table("seat_group_members")
    op.drop_table("seat_groups")
