"""Session opens per account and client address, counted in this process's memory.

Each server process keeps its own buckets (a few hundred bytes per address), the
oldest forgotten past `MAX_KEPT`: a limit on strangers' floods, not an account of use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from seatkeeper.domain import pace
from seatkeeper.domain.errors import TooManyOpens
from seatkeeper.domain.model import Account

MAX_KEPT = 50_000


class OpenPace:
    """The buckets of the addresses that opened sessions lately."""

    def __init__(self, floor: int = pace.FLOOR, max_kept: int = MAX_KEPT) -> None:
        """`floor`: the opens a minute allowed whatever the licenses; 0 paces nothing."""
        self._buckets: OrderedDict[tuple[int, str | None], pace.Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self._floor = floor
        self._max_kept = max_kept

    def take(self, account: Account, source: str | None, now: datetime) -> None:
        """Count one open from `source`, or refuse it (TooManyOpens, with when to retry)."""
        if not self._floor:
            return
        key = (account.id, source)
        with self._lock:
            bucket, wait = pace.take(
                self._buckets.pop(key, None),
                now=now,
                capacity=pace.opens_allowed(account.licenses, self._floor),
            )
            self._buckets[key] = bucket
            while len(self._buckets) > self._max_kept:
                self._buckets.popitem(last=False)
        if wait is not None:
            raise TooManyOpens(retry_after=wait)
