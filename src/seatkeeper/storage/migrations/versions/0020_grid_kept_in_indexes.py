"""the grid's sorts read indexes: each open session keeps its agent key and open Interactions

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 21:30:00

Each session keeps `agent_key` (how the grid sorts and searches its agent: the username
in lower case, `guest` for a Guest) and `open_interactions` (how many of its Interactions
are open). Triggers keep both, in the transaction that writes the session or the
Interaction, whichever code path does it: no caller can forget them. Partial indexes on
the open sessions then serve every sort of the grid a page at a time. A trigram index
finds users by any part of their name: pg_trgm's on PostgreSQL (when the server has the
extension; without it the search is slower, not wrong), an FTS5 table kept by triggers
on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORTS = {
    "ix_agent_sessions_open_start": ["account_id", "started_at", "id"],
    "ix_agent_sessions_open_agent": ["account_id", "agent_key", "started_at", "id"],
    "ix_agent_sessions_open_count": ["account_id", "open_interactions", "started_at", "id"],
}
OPEN = "ended_at IS NULL"

SQLITE_TRIGGERS = (
    # Usernames never change, so the key is set once, when the session is made.
    "CREATE TRIGGER agent_sessions_agent_key AFTER INSERT ON agent_sessions"
    " WHEN NEW.user_id IS NOT NULL BEGIN"
    " UPDATE agent_sessions SET agent_key ="
    " (SELECT lower(username) FROM users WHERE id = NEW.user_id) WHERE rowid = NEW.rowid;"
    " END",
    "CREATE TRIGGER interactions_opened AFTER INSERT ON interactions"
    " WHEN NEW.closed_at IS NULL BEGIN"
    " UPDATE agent_sessions SET open_interactions = open_interactions + 1"
    " WHERE id = NEW.session_id; END",
    "CREATE TRIGGER interactions_closed AFTER UPDATE OF closed_at ON interactions"
    " WHEN OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL BEGIN"
    " UPDATE agent_sessions SET open_interactions = open_interactions - 1"
    " WHERE id = NEW.session_id; END",
    "CREATE TRIGGER interactions_reopened AFTER UPDATE OF closed_at ON interactions"
    " WHEN OLD.closed_at IS NOT NULL AND NEW.closed_at IS NULL BEGIN"
    " UPDATE agent_sessions SET open_interactions = open_interactions + 1"
    " WHERE id = NEW.session_id; END",
    "CREATE TRIGGER interactions_removed AFTER DELETE ON interactions"
    " WHEN OLD.closed_at IS NULL BEGIN"
    " UPDATE agent_sessions SET open_interactions = open_interactions - 1"
    " WHERE id = OLD.session_id; END",
)

POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION agent_sessions_agent_key() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN IF NEW.user_id IS NOT NULL THEN"
    " NEW.agent_key := (SELECT lower(username) FROM users WHERE id = NEW.user_id);"
    " END IF; RETURN NEW; END $$",
    "CREATE TRIGGER agent_sessions_agent_key BEFORE INSERT ON agent_sessions"
    " FOR EACH ROW EXECUTE FUNCTION agent_sessions_agent_key()",
    "CREATE OR REPLACE FUNCTION interactions_count_open() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP <> 'INSERT' AND OLD.closed_at IS NULL THEN"
    " UPDATE agent_sessions SET open_interactions = open_interactions - 1"
    " WHERE id = OLD.session_id; END IF;"
    " IF TG_OP <> 'DELETE' AND NEW.closed_at IS NULL THEN"
    " UPDATE agent_sessions SET open_interactions = open_interactions + 1"
    " WHERE id = NEW.session_id; END IF;"
    " RETURN NULL; END $$",
    "CREATE TRIGGER interactions_count_open AFTER INSERT OR DELETE OR UPDATE OF closed_at"
    " ON interactions FOR EACH ROW EXECUTE FUNCTION interactions_count_open()",
)

SQLITE_USERS_SEARCH = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS users_search USING fts5("
    "username, content='users', content_rowid='id', tokenize='trigram')",
    "INSERT INTO users_search(users_search) VALUES ('rebuild')",
    "CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN"
    " INSERT INTO users_search(rowid, username) VALUES (NEW.id, NEW.username); END",
    "CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN"
    " INSERT INTO users_search(users_search, rowid, username)"
    " VALUES ('delete', OLD.id, OLD.username); END",
    "CREATE TRIGGER users_search_update AFTER UPDATE OF username ON users BEGIN"
    " INSERT INTO users_search(users_search, rowid, username)"
    " VALUES ('delete', OLD.id, OLD.username);"
    " INSERT INTO users_search(rowid, username) VALUES (NEW.id, NEW.username); END",
)
POSTGRESQL_USERS_SEARCH = (
    "CREATE INDEX ix_users_username_trigrams ON users USING gin (lower(username) gin_trgm_ops)"
)

FILL = (
    "UPDATE agent_sessions SET agent_key = (SELECT lower(username) FROM users"
    " WHERE users.id = agent_sessions.user_id) WHERE user_id IS NOT NULL",
    "UPDATE agent_sessions SET open_interactions = (SELECT count(*) FROM interactions"
    " WHERE interactions.session_id = agent_sessions.id AND interactions.closed_at IS NULL)"
    " WHERE ended_at IS NULL",
)


def upgrade() -> None:
    with op.batch_alter_table("agent_sessions") as batch:
        batch.add_column(
            sa.Column("agent_key", sa.String(length=400), nullable=False, server_default="guest")
        )
        batch.add_column(
            sa.Column("open_interactions", sa.Integer(), nullable=False, server_default="0")
        )
    for statement in FILL:
        op.execute(statement)
    for name, columns in SORTS.items():
        op.create_index(
            name,
            "agent_sessions",
            columns,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )
    op.create_index(
        "ix_interactions_open_flow",
        "interactions",
        ["flow", "session_id"],
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    if postgresql:
        _postgresql_users_search()
    else:
        for statement in SQLITE_USERS_SEARCH:
            op.execute(statement)


def _postgresql_users_search() -> None:
    """The trigram index, if the server lets us have pg_trgm (a contrib extension some
    hosted servers lack, or allow only to a superuser): without it, searching by agent id
    tests each open session, which is slower and gives the same answer."""
    bind = op.get_bind()
    with bind.begin_nested():
        try:
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except sa.exc.DBAPIError as error:
            print(f"seatkeeper: no pg_trgm ({error.orig}); the grid's search by agent id scans")
            return
    op.execute(POSTGRESQL_USERS_SEARCH)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_users_username_trigrams")
        op.execute("DROP TRIGGER interactions_count_open ON interactions")
        op.execute("DROP TRIGGER agent_sessions_agent_key ON agent_sessions")
        op.execute("DROP FUNCTION interactions_count_open()")
        op.execute("DROP FUNCTION agent_sessions_agent_key()")
    else:
        for trigger in ("opened", "closed", "reopened", "removed"):
            op.execute(f"DROP TRIGGER interactions_{trigger}")
        op.execute("DROP TRIGGER agent_sessions_agent_key")
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER users_search_{trigger}")
        op.execute("DROP TABLE users_search")
    op.drop_index("ix_interactions_open_flow", table_name="interactions")
    for name in SORTS:
        op.drop_index(name, table_name="agent_sessions")
    with op.batch_alter_table("agent_sessions") as batch:
        batch.drop_column("open_interactions")
        batch.drop_column("agent_key")
