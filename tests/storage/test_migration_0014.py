"""Migration 0014: the errors earlier versions kept of failed webhook attempts (exception
text from the server's network) become the plain sentence the tenant may read."""

from __future__ import annotations

from sqlalchemy import text

from tests.storage.upgrading import OLD_ACCOUNT, at_revision, upgraded

KEPT = [
    "ConnectError: [Errno 111] Connection refused",
    "ReadTimeout: timed out",
    "the receiver answered 500",
    None,
]


def test_kept_errors_lose_what_they_said_of_the_inside(db_url: str) -> None:
    db = at_revision(db_url, "0013")
    with db.write() as conn:
        conn.execute(text(OLD_ACCOUNT))
        conn.execute(
            text(
                "INSERT INTO webhooks (id, account_id, url, secret, created_at)"
                " VALUES (1, 1, 'http://10.0.0.1/', 's', '2026-01-01 00:00:00')"
            )
        )
        for n, error in enumerate(KEPT, start=1):
            conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (id, webhook_id, event, payload, created_at,"
                    " attempts, last_error) VALUES (:id, 1, 'e', '{}', '2026-01-01 00:00:00',"
                    " 1, :error)"
                ),
                {"id": n, "error": error},
            )
    db.dispose()
    db = upgraded(db_url)
    with db.read() as conn:
        found = conn.execute(text("SELECT last_error FROM webhook_deliveries ORDER BY id"))
        assert list(found.scalars()) == [
            "the receiver could not be reached",
            "the receiver could not be reached",
            "the receiver answered 500",
            None,
        ]
    db.dispose()
