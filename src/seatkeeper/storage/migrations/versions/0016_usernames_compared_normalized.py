"""usernames compared normalized: users.username_key (NFKC, case folded), unique per account

Existing users whose names collide once normalized ("Admin" and "admin" in one account)
keep their rows: the oldest keeps its name, each later one is renamed "<name>-<id>" (and
the migration logs every renaming, for the operator to tell the people concerned).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 15:00:00
"""

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
MAX_USERNAME = 100


def _key(name: str) -> str:
    # As seatkeeper.domain.credentials.username_key was when this migration was written.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_key", sa.String(length=400), nullable=True))
    conn = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("account_id", sa.Integer),
        sa.column("username", sa.String),
        sa.column("username_key", sa.String),
    )
    rows = conn.execute(
        sa.select(users.c.id, users.c.account_id, users.c.username).order_by(users.c.id)
    ).all()
    seen: set[tuple[int, str]] = set()
    for row in rows:
        name, key = row.username, _key(row.username)
        if (row.account_id, key) in seen:
            suffix = f"-{row.id}"
            name = row.username[: MAX_USERNAME - len(suffix)] + suffix
            key = _key(name)
            log.warning(
                "User %r (id %s) of account %s is renamed %r: its name is another user's "
                "once case and width are ignored.",
                row.username, row.id, row.account_id, name,
            )  # fmt: skip
        seen.add((row.account_id, key))
        conn.execute(
            users.update().where(users.c.id == row.id).values(username=name, username_key=key)
        )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("username_key", existing_type=sa.String(length=400), nullable=False)
        batch.create_index(
            "ux_users_account_username_key", ["account_id", "username_key"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ux_users_account_username_key")
        batch.drop_column("username_key")
