"""Keys made before keys could expire or be rotated keep working after the upgrade, and
their use is written down from then on."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from seatkeeper.clock import FrozenClock
from seatkeeper.services import agents, keys
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import token_hash
from tests.storage.upgrading import OLD_ACCOUNT, at_revision, upgraded


def test_a_key_from_before_the_upgrade_works_and_its_use_is_noted(db_url: str) -> None:
    db = at_revision(db_url, "0014")
    key = "sk_app_from-before"
    with db.write() as conn:
        conn.execute(text(OLD_ACCOUNT))
        conn.execute(
            text(
                "INSERT INTO api_keys (id, account_id, kind, name, key_hash, created_at)"
                " VALUES (1, 1, 'application', 'old key', :hash, '2026-01-01 00:00:00')"
            ),
            {"hash": token_hash(key)},
        )
    db.dispose()
    db = upgraded(db_url)
    clock = FrozenClock(datetime(2026, 2, 1, tzinfo=UTC))
    assert agents.application_account(db, key, clock=clock).slug == "old"
    (found,) = keys.list_keys(db, OPERATOR, "old").keys
    assert (found.name, found.last_used_at, found.expires_at) == ("old key", clock.now(), None)
    db.dispose()
