"""The demo's tests share its account, provisioned in the evening of the frozen clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from seatkeeper.clock import FrozenClock
from seatkeeper.demo.account import DemoAccount, provision
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database

EVENING = timedelta(hours=8)  # the clock's 13:00 UTC is 09:00 in New York: move to 17:00


@pytest.fixture
def now(clock: FrozenClock) -> datetime:
    return clock.advance(EVENING)


@pytest.fixture
def demo(db: Database, passwords: Passwords, now: datetime) -> DemoAccount:
    return provision(db, passwords, now=now)
