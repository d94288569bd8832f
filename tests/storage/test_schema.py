"""The migrations build exactly the schema the code is written against."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import current_revision, head_revision
from seatkeeper.storage.tables import metadata
from tests.storage.upgrading import OLD_ACCOUNT, at_revision, upgraded

# Made by migration 0020 for one backend only, and queried by name (storage/grid_search.py):
# SQLite's FTS5 table of usernames (and the tables FTS5 keeps it in), PostgreSQL's index.
SEARCH_INDEXES = ("users_search", "ix_users_username_trigrams")


def _declared(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    return not (reflected and name is not None and name.startswith(SEARCH_INDEXES))


def test_migrations_match_the_tables(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _declared})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_a_database_in_use_upgrades_from_the_first_revision(db_url: str) -> None:
    """Every migration runs on a database that holds data, as real upgrades do."""
    db = at_revision(db_url, "0001")
    with db.write() as conn:
        conn.execute(text(OLD_ACCOUNT))
        conn.execute(
            text(
                "INSERT INTO users (id, account_id, username, password_hash, role, created_at)"
                " VALUES (1, 1, 'alice', 'x', 'agent', '2026-01-01 00:00:00')"
            )
        )
    db.dispose()
    db = upgraded(db_url)
    with db.read() as conn:
        assert conn.execute(text("SELECT slug, console_enabled FROM accounts")).one() == (
            "old",
            False,
        )
        assert conn.execute(text("SELECT username FROM users")).scalar_one() == "alice"
    assert current_revision(db.engine) == head_revision()
    db.dispose()
