"""Prometheus metrics.

Counters say what this instance did, counted when the transaction that did it commits
(a rolled-back one counts nothing); Prometheus adds up the instances. Gauges say what
every account holds now, read from the database at each scrape, so every instance
reports the same. Requests are timed by the web layer's RequestTimer.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection

SESSIONS_OPENED = Counter(
    "seatkeeper_sessions_opened", "Agent sessions opened (joins not counted)", ["account_id"]
)
SESSIONS_ENDED = Counter(
    "seatkeeper_sessions_ended",
    "Agent sessions ended: logout, timeout or terminated",
    ["account_id", "reason"],
)
DENIALS = Counter(
    "seatkeeper_denials", "Opens refused because every license was in use", ["account_id"]
)
_PENDING = "seatkeeper_metrics"


def count(conn: Connection, counter: Counter, *labels: object, amount: int = 1) -> None:
    """Add `amount` to `counter` once the write transaction on `conn` commits."""
    if amount:
        conn.info.setdefault(_PENDING, []).append((counter, labels, amount))


def committed(conn: Connection) -> None:
    """The transaction committed: what it did counts (storage.db.Database.write)."""
    for counter, labels, amount in conn.info.pop(_PENDING, ()):
        counter.labels(*map(str, labels)).inc(amount)


def discard(conn: Connection) -> None:
    """The transaction rolled back (or its COMMIT failed): nothing it did counts."""
    conn.info.pop(_PENDING, None)


Use = tuple[int, str, int, int]  # account id, slug, licenses in use, licenses owned


class Licenses(Collector):
    """Licenses in use and in all, per account, read at each scrape by `read`."""

    def __init__(self, read: Callable[[], Iterable[Use]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        labels = ["account_id", "account"]
        in_use = GaugeMetricFamily(
            "seatkeeper_licenses_in_use",
            "Open agent sessions, each holding a license",
            labels=labels,
        )
        total = GaugeMetricFamily(
            "seatkeeper_licenses_total", "Licenses the account owns", labels=labels
        )
        for account_id, slug, used, owned in self.read():
            in_use.add_metric([str(account_id), slug], used)
            total.add_metric([str(account_id), slug], owned)
        yield in_use
        yield total


class RequestTimes(Collector):
    """How many requests were answered and how long they took, by method, route and
    status, as a Prometheus histogram. Observed on the event loop's thread alone, with
    plain counts (prometheus_client's Histogram cost a third of a heartbeat)."""

    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self) -> None:
        self.series: dict[tuple[str, str, str], list[float]] = {}

    def observe(self, key: tuple[str, str, str], seconds: float) -> None:
        counts = self.series.get(key)
        if counts is None:  # one count per bucket, one over the last, then the sum
            counts = self.series[key] = [0.0] * (len(self.BUCKETS) + 2)
        counts[bisect_left(self.BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "seatkeeper_request_seconds",
            "HTTP requests answered, and how long each took, by route",
            labels=["method", "route", "status"],
        )
        bounds = [*map(str, self.BUCKETS), "+Inf"]
        for key, counts in list(self.series.items()):
            *per_bucket, total = list(counts)
            cumulative, running = [], 0.0
            for bound, n in zip(bounds, per_bucket, strict=True):
                running += n
                cumulative.append((bound, running))
            family.add_metric(list(key), cumulative, total)
        yield family


def exposition(accounts: CollectorRegistry) -> bytes:
    """The text a scrape reads: this process's metrics, then the accounts'."""
    return generate_latest(REGISTRY) + generate_latest(accounts)
