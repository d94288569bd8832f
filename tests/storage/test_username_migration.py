"""Migration 0016 gives every user the name as compared, and renames the later of two users
whose names are one once case and width are ignored (the oldest keeps its name)."""

from __future__ import annotations

from sqlalchemy import text

from tests.storage.upgrading import at_revision, upgraded


def test_colliding_usernames_are_renamed_and_the_rest_kept(db_url: str) -> None:
    db = at_revision(db_url, "0015")
    with db.write() as conn:
        for account_id, slug in ((1, "one"), (2, "two")):
            conn.execute(
                text(
                    "INSERT INTO accounts (id, slug, name, licenses, time_zone,"
                    " session_timeout_seconds, guests_allowed, created_at)"
                    f" VALUES ({account_id}, '{slug}', 'Old', 3, 'UTC', 1800, true,"
                    " '2026-01-01 00:00:00')"
                )
            )
        people = [
            (1, 1, "admin"),
            (2, 1, "Admin"),
            (3, 1, "ａｄｍｉｎ"),
            (4, 1, "Bob"),
            (5, 2, "ADMIN"),
        ]
        for user_id, account_id, name in people:
            conn.execute(
                text(
                    "INSERT INTO users (id, account_id, username, password_hash, role, created_at)"
                    " VALUES (:id, :account, :name, 'x', 'agent', '2026-01-01 00:00:00')"
                ),
                {"id": user_id, "account": account_id, "name": name},
            )
    db.dispose()
    db = upgraded(db_url, "0016")
    with db.read() as conn:
        rows = conn.execute(text("SELECT id, username, username_key FROM users ORDER BY id")).all()
    db.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "admin", "admin"),
        (2, "Admin-2", "admin-2"),
        (3, "ａｄｍｉｎ-3", "admin-3"),
        (4, "Bob", "bob"),
        (5, "ADMIN", "admin"),  # another account
    ]
