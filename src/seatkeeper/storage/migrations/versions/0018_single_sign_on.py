"""single sign-on: an account's OpenID Provider, sign-ins under way, and who signed in

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sso_providers",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("username_claim", sa.String(length=500), nullable=False),
        sa.Column("roles_claim", sa.String(length=500), nullable=True),
        sa.Column("role_map", sa.JSON(), nullable=False),
        sa.Column("default_role", sa.String(length=20), nullable=False),
        sa.Column("passwords_allowed", sa.Boolean(), nullable=False),
        sa.Column("audiences", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_sso_providers_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_sso_providers"),
    )
    op.create_table(
        "sso_requests",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("next", sa.String(length=2000), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_sso_requests_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("state_hash", name="pk_sso_requests"),
    )
    op.create_index("ix_sso_requests_expires_at", "sso_requests", ["expires_at"])
    op.create_table(
        "sso_logouts",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_sso_logouts_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("account_id", "jti", name="pk_sso_logouts"),
    )
    op.add_column("users", sa.Column("sso_subject", sa.String(length=255), nullable=True))
    op.create_index(
        "ix_users_account_sso_subject", "users", ["account_id", "sso_subject"], unique=False
    )
    op.add_column("web_logins", sa.Column("sso_session", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_logins") as batch:
        batch.drop_column("sso_session")
    op.drop_index("ix_users_account_sso_subject", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sso_subject")
    op.drop_table("sso_logouts")
    op.drop_index("ix_sso_requests_expires_at", table_name="sso_requests")
    op.drop_table("sso_requests")
    op.drop_table("sso_providers")
