"""Waiting in tests: for a condition to hold, never for a guessed while.

The suite runs on laptops doing other things and on a busy 2-core CI machine, several
tests at once. A test that waits for a server, a process, a thread or a browser waits
until what it waits for has happened, under a deadline so generous that only a hang
reaches it; a test that races runs until it has done the work that proves its point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE = 60.0  # seconds: the longest any one wait may take before the test fails
RACE_DEADLINE = 300.0  # seconds: the longest a race may take to do its work


def wait_until(
    condition: Callable[[], T], what: str, *, timeout: float = PATIENCE, interval: float = 0.02
) -> T:
    """Call `condition` until it answers something true, and return that; fail, saying
    `what` was awaited, once `timeout` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
