"""A test database taken back to an earlier revision of the schema, to upgrade from."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import alembic_config
from seatkeeper.storage.tables import metadata

OLD_ACCOUNT = (  # an account as every revision has stored one
    "INSERT INTO accounts (id, slug, name, licenses, time_zone,"
    " session_timeout_seconds, guests_allowed, created_at)"
    " VALUES (1, 'old', 'Old', 3, 'UTC', 1800, true, '2026-01-01 00:00:00')"
)


def at_revision(db_url: str, revision: str) -> Database:
    """The test database emptied and migrated up to `revision` only."""
    db = Database(db_url)
    with db.write() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if conn.dialect.name == "sqlite":  # migration 0020's FTS5 table, not in the metadata
            conn.execute(text("DROP TABLE IF EXISTS users_search"))
        for table in reversed(metadata.sorted_tables):
            conn.execute(text(f"DROP TABLE {table.name}"))
    db.dispose()
    command.upgrade(alembic_config(db_url), revision)
    return Database(db_url)


def upgraded(db_url: str, revision: str = "head") -> Database:
    """The test database after migrating on to `revision`."""
    command.upgrade(alembic_config(db_url), revision)
    return Database(db_url)
