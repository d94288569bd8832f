"""The soak's short version: simulated agents against one real server, on each backend.

`python -m bench.soak` runs the same for 10 minutes. Here it runs for 30 seconds and then
on until it has done the work that proves its point (however busy the machine): enough
requests served, the agents' work and refusals, and live checks of the grid and usage.
The server is not pinned to a core: the suite runs on every core at once, and a pinned
server would share its core with whichever test landed there. No session times out in
a short run (the shortest timeout is a minute and a half); the long run checks those.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.soak import SoakResult, report, soak

from seatkeeper.demo import simulation
from tests.waiting import PATIENCE, RACE_DEADLINE

SECONDS = 30  # at least: the memory trend needs a run of some length
AGENTS = 24
LICENSES = 16  # fewer than the agents' sessions: refusals must happen
SPEED = 20.0  # lighter than the script's default: the suite's other tests share the machine
# The work the run does before it ends: about 2,000 requests in 30 s on an idle machine.
REQUESTS = 600
LIVE_CHECKS = SECONDS // 2


def enough(result: SoakResult) -> bool:
    """The run has done its work: requests, steps and heartbeats, a refusal (the cap was
    reached), and live checks."""
    stats = result.stats
    return (
        result.requests >= REQUESTS
        and stats.steps > 0
        and stats.heartbeats > 0
        and stats.license_refusals + result.refusals > 0
        and result.live_checks >= LIVE_CHECKS
    )


@pytest.mark.slow
def test_soak_serves_without_errors_or_over_allocation(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow answer on a busy machine is not an error of the server's.
    monkeypatch.setattr(simulation, "HTTP_TIMEOUT_SECONDS", PATIENCE)
    result = soak(
        db_url,
        seconds=SECONDS,
        agents=AGENTS,
        licenses=LICENSES,
        speed=SPEED,
        pin=False,
        workdir=tmp_path,
        until=enough,
        deadline=RACE_DEADLINE,
    )

    report(result, result.backend)  # the table, shown when the test fails
    detail = "; ".join(result.messages)
    assert result.requests >= REQUESTS
    assert result.stats.steps > 0 and result.stats.heartbeats > 0 and result.stats.logouts > 0
    assert result.errors == 0, detail
    assert result.stats.license_refusals + result.refusals > 0  # the cap was reached
    assert result.peak == LICENSES  # and held: all of them in use at once, never one more
    assert result.over_allocated == 0 and result.moments_over == 0 and result.live_over == 0
    assert result.live_checks >= LIVE_CHECKS
    growth = result.growth
    assert growth is not None
    first, last, allowed = growth
    assert last - first <= allowed, f"memory grew from {first:.1f} to {last:.1f} MiB"
    assert not result.problems
