"""account settings and users: last login, license history, one-time password links

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "license_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("licenses", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_license_changes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license_changes")),
    )
    op.create_index("ix_license_changes_account_at", "license_changes", ["account_id", "at"])
    # Each account's history starts with the total it has now, from its creation.
    op.execute(
        "INSERT INTO license_changes (account_id, at, licenses) "
        "SELECT id, created_at, licenses FROM accounts"
    )
    op.create_table(
        "password_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_password_links")),
    )
    op.create_index("ix_password_links_user", "password_links", ["user_id"])


def downgrade() -> None:
    op.drop_table("password_links")
    op.drop_table("license_changes")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_login_at")
