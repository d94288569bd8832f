"""Schema versions: upgrade a database, and refuse to serve one that is behind."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine

from seatkeeper.storage.db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


class StaleSchema(Exception):
    """The database is not at the schema this seatkeeper needs."""


def alembic_config(url: str) -> Config:
    """Alembic settings for `url`, without an alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The revision the code expects."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, None when it has no schema yet."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str) -> tuple[str | None, str]:
    """Bring the database at `url` to the newest schema; returns (before, after)."""
    config = alembic_config(url)
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return before, head_revision()
    finally:
        engine.dispose()


def ensure_current(engine: Engine) -> None:
    """Raise StaleSchema, saying what to do, unless the schema is the newest this code knows."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is not None and not _known(current):
        raise StaleSchema(
            f"The database {where} is at revision {current}, which this seatkeeper does not "
            f"know (it needs {head}): a newer seatkeeper has upgraded it. Run that version."
        )
    state = "has no seatkeeper schema yet" if current is None else f"is at revision {current}"
    raise StaleSchema(
        f"The database {where} {state}; this seatkeeper needs revision {head}. "
        "Run `seatkeeper db upgrade` (with the same database URL) and start again."
    )


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config("")).get_revision(revision) is not None
    except CommandError:
        return False
