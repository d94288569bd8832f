"""Test-only JavaScript packages (tests/oidc, tests/axe), installed by `make test` with
`npm ci` from their committed lock files and never served to users.

Without Node.js or a package the tests that need it skip, saying why;
SEATKEEPER_TEST_NODE=required (CI) fails them instead, and =off skips them all.
"""

from __future__ import annotations

import os

import pytest

NODE_MODE = os.environ.get("SEATKEEPER_TEST_NODE", "auto")


def unavailable(reason: str) -> None:
    """Skip the test for `reason`, or fail it when Node.js is required."""
    if NODE_MODE == "required":
        pytest.fail(f"{reason} (SEATKEEPER_TEST_NODE=required)")
    pytest.skip(reason)


def skip_when_off() -> None:
    """Skip the test when the Node.js tests are turned off."""
    if NODE_MODE == "off":
        pytest.skip("Node.js tests are off (SEATKEEPER_TEST_NODE=off)")
