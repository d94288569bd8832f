"""keys that can be taken back: expiry, last use, rotation

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("replaced_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_keys_replaced_by_api_keys"), "api_keys", ["replaced_by"], ["id"]
        )
    op.create_index("ix_api_keys_account", "api_keys", ["account_id"])
    op.create_table(
        "api_key_uses",
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_api_key_uses_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_key_uses")),
    )
    op.execute("INSERT INTO api_key_uses (key_id) SELECT id FROM api_keys")


def downgrade() -> None:
    op.drop_table("api_key_uses")
    op.drop_index("ix_api_keys_account", table_name="api_keys")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("fk_api_keys_replaced_by_api_keys"), type_="foreignkey")
        batch.drop_column("replaced_by")
        batch.drop_column("expires_at")
