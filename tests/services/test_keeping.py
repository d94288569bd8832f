"""The background task that keeps every day the session rows hold, for the usage reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from seatkeeper.domain.periods import Period
from seatkeeper.services import history
from seatkeeper.services import reports as reports_service
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.keeping import KeepingDays
from seatkeeper.storage import reports as stored_reports
from seatkeeper.storage import usage as stored_usage
from seatkeeper.storage.db import Database
from tests.services.retention_history import write_history
from tests.services.test_retention import make_account

NOW = datetime(2026, 5, 15, 10, tzinfo=UTC)
FIRST, LAST = date(2026, 1, 6), date(2026, 5, 14)  # LAST is yesterday in New York


def test_every_day_of_the_rows_is_kept_in_the_background_with_the_figures_of_the_rows(
    db: Database,
) -> None:
    account, users = make_account(db, "globex", "America/New_York")
    write_history(db, account, users, first=FIRST, last=LAST, now=NOW, seed=3, per_day=4)
    period = Period(FIRST, LAST)
    with db.read() as conn:
        direct, _ = history.usage_report(conn, account, NOW, period=period, use_kept=False)
    task = KeepingDays(budget=timedelta(0))
    assert task.run(db, NOW) == 0  # out of time before the first days: nothing kept
    task = KeepingDays(budget=timedelta(minutes=10))
    assert task.run(db, NOW) == period.length
    with db.read() as conn:
        kept = stored_usage.usage_days(conn, account.id, account.time_zone, FIRST, last=LAST)
        figured = stored_reports.figured(
            conn, account.id, account.time_zone, first=FIRST, last=LAST
        )
        assert sorted(kept) == period.days
        assert set(figured) <= set(kept)
        assert len(figured) > period.length // 2  # days with a session still open wait
        report, fresh = history.usage_report(conn, account, NOW, period=period)
    assert report == direct
    assert not fresh
    assert task.run(db, NOW) == 0  # remembered: nothing new until tomorrow
    holders = reports_service.holders(db, OPERATOR, "globex", period=period, now=NOW)
    assert holders.rows  # read from the kept figures
    assert KeepingDays().run(db, NOW + timedelta(days=1)) == 1  # the new yesterday
