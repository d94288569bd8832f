"""The soak's 30-second version: simulated agents against one real server, on each backend.

`python -m bench.soak` runs the same for 10 minutes. Here the server is not pinned to a
core: the suite runs on every core at once, and a pinned server would share its core with
whichever test landed there. No session times out in 30 s (the shortest timeout is a
minute); the long run checks those.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.soak import report, soak

SECONDS = 30
AGENTS = 24
LICENSES = 16  # fewer than the agents' sessions: refusals must happen
SPEED = 20.0  # lighter than the script's default: the suite's other tests share the machine
MIN_REQUESTS = 600  # about 2,000 on an idle machine: a quarter of that still proves a busy run


@pytest.mark.slow
def test_soak_serves_without_errors_or_over_allocation(db_url: str, tmp_path: Path) -> None:
    result = soak(
        db_url,
        seconds=SECONDS,
        agents=AGENTS,
        licenses=LICENSES,
        speed=SPEED,
        pin=False,
        workdir=tmp_path,
    )

    report(result, result.backend)  # the table, shown when the test fails
    detail = "; ".join(result.messages)
    assert result.requests > MIN_REQUESTS
    assert result.stats.steps > 0 and result.stats.heartbeats > 0 and result.stats.logouts > 0
    assert result.errors == 0, detail
    assert result.stats.license_refusals + result.refusals > 0  # the cap was reached
    assert result.peak == LICENSES  # and held: all of them in use at once, never one more
    assert result.over_allocated == 0 and result.moments_over == 0 and result.live_over == 0
    assert result.live_checks > SECONDS // 2
    growth = result.growth
    assert growth is not None
    first, last, allowed = growth
    assert last - first <= allowed, f"memory grew from {first:.1f} to {last:.1f} MiB"
    assert not result.problems
