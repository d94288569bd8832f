"""Migration 0024: the usage days kept before gain their overdraft where it is known (none,
within the licenses), are dropped to be counted again where it is not, and a final day
beyond its licenses (its rows gone) says it is not known rather than make it up."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.periods import Period
from seatkeeper.services import accounts, history
from seatkeeper.storage import usage as stored_usage
from tests.storage.upgrading import OLD_ACCOUNT, at_revision, upgraded

# (day, peak, final): acme's old account has 3 licenses.
KEPT = [
    (date(2026, 1, 2), 2, False),  # within: none beyond
    (date(2026, 1, 3), 5, False),  # beyond, its rows still there: counted again
    (date(2026, 1, 4), 3, True),  # within, final
    (date(2026, 1, 5), 4, True),  # beyond, final: not known
]


def test_kept_days_get_their_overdraft_or_are_counted_again(
    db_url: str, clock: FrozenClock
) -> None:
    db = at_revision(db_url, "0022")
    with db.write() as conn:
        conn.execute(text(OLD_ACCOUNT))
        for day, peak, final in KEPT:
            conn.execute(
                text(
                    "INSERT INTO usage_days (account_id, time_zone, day, through,"
                    " max_concurrent, denials, open_at_through, micros_at_cap, peak_demand,"
                    " licenses, final) VALUES (1, 'UTC', :day, :through, :peak, 0, 0,"
                    " 60000000, :peak, 3, :final)"
                ),
                {"day": day, "through": day + timedelta(days=1), "peak": peak, "final": final},
            )
    db.dispose()
    db = upgraded(db_url)
    with db.read() as conn:
        kept = stored_usage.usage_days(conn, 1, "UTC", date(2026, 1, 1))
    assert {d: row.overdraft for d, row in kept.items()} == {
        date(2026, 1, 2): timedelta(0),
        date(2026, 1, 4): timedelta(0),
        date(2026, 1, 5): None,
    }
    account = accounts.get_account(db, "old")
    with db.read() as conn:
        report, _ = history.usage_report(
            conn, account, clock.now(), period=Period(date(2026, 1, 4), date(2026, 1, 5))
        )
    assert [(d.overdraft_peak, d.overdraft_minutes) for d in report.days] == [(0, 0), (1, None)]
    db.dispose()
