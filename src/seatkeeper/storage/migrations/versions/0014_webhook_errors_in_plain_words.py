"""webhook deliveries' errors in plain words: no text of the network's inside is kept

Earlier versions kept the exception a failed attempt raised ("ConnectError: [Errno
111] ..."), which told the tenant about the server's network. Each such error becomes
the sentence the deliveries now show; "the receiver answered <status>" stays.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNREACHABLE = "the receiver could not be reached"


def upgrade() -> None:
    deliveries = sa.table("webhook_deliveries", sa.column("last_error", sa.String(500)))
    op.execute(
        deliveries.update()
        .where(
            deliveries.c.last_error.is_not(None),
            deliveries.c.last_error.not_like("the receiver answered %"),
        )
        .values(last_error=UNREACHABLE)
    )


def downgrade() -> None:
    pass  # what was said before is gone, and was not to be said
