"""The migrations build exactly the schema the code is written against."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import current_revision, head_revision
from seatkeeper.storage.tables import metadata


def test_migrations_match_the_tables(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
