"""The demo account's seat groups: a Billing team with licenses of its own, and a small
maximum for Guests, also on a demo database from before seat groups."""

from __future__ import annotations

from datetime import datetime

from seatkeeper.demo.account import (
    DEMO_GROUP_MEMBERS,
    DEMO_OPERATOR,
    DEMO_SLUG,
    DemoAccount,
    provision,
)
from seatkeeper.services import groups
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database


def _shown(db: Database) -> list[tuple[str, int, int | None, int]]:
    found = groups.list_groups(db, DEMO_OPERATOR, DEMO_SLUG)
    return [(r.group.name, r.group.reserved, r.group.maximum, r.members) for r in found.rows]


def test_the_demo_has_a_reserved_team_and_a_guests_maximum(db: Database, demo: DemoAccount) -> None:
    assert _shown(db) == [("Billing", 5, None, len(DEMO_GROUP_MEMBERS)), ("Guests", 0, 3, 0)]
    assert groups.list_groups(db, DEMO_OPERATOR, DEMO_SLUG).account.has_groups


def test_an_earlier_demo_account_gets_its_groups_and_a_changed_one_is_kept(
    db: Database, passwords: Passwords, demo: DemoAccount, now: datetime
) -> None:
    for row in groups.list_groups(db, DEMO_OPERATOR, DEMO_SLUG).rows:  # as before seat groups
        groups.delete_group(db, DEMO_OPERATOR, DEMO_SLUG, row.group.id, now=now)
    provision(db, passwords, now=now)
    assert _shown(db) == [("Billing", 5, None, len(DEMO_GROUP_MEMBERS)), ("Guests", 0, 3, 0)]
    groups.change_group(db, DEMO_OPERATOR, DEMO_SLUG, "Billing", reserved=2, now=now)
    provision(db, passwords, now=now)
    assert _shown(db)[0][:2] == ("Billing", 2)
