"""Keys made before keys could expire or be rotated keep working after the upgrade, and
their use is written down from then on."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from seatkeeper.clock import FrozenClock
from seatkeeper.services import agents, keys
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import token_hash
from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import alembic_config
from seatkeeper.storage.tables import metadata


def test_a_key_from_before_the_upgrade_works_and_its_use_is_noted(db_url: str) -> None:
    db = Database(db_url)
    with db.write() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        for table in reversed(metadata.sorted_tables):
            conn.execute(text(f"DROP TABLE {table.name}"))
    db.dispose()
    config = alembic_config(db_url)
    command.upgrade(config, "0011")
    key = "sk_app_from-before"
    db = Database(db_url)
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (id, slug, name, licenses, time_zone,"
                " session_timeout_seconds, guests_allowed, created_at)"
                " VALUES (1, 'old', 'Old', 3, 'UTC', 1800, true, '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO api_keys (id, account_id, kind, name, key_hash, created_at)"
                " VALUES (1, 1, 'application', 'old key', :hash, '2026-01-01 00:00:00')"
            ),
            {"hash": token_hash(key)},
        )
    db.dispose()
    command.upgrade(config, "head")
    db = Database(db_url)
    clock = FrozenClock(datetime(2026, 2, 1, tzinfo=UTC))
    assert agents.application_account(db, key, clock=clock).slug == "old"
    (found,) = keys.list_keys(db, OPERATOR, "old").keys
    assert (found.name, found.last_used_at, found.expires_at) == ("old key", clock.now(), None)
    db.dispose()
