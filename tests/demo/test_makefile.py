"""`make demo` on a fresh clone: every install step says what it does, and pip only its errors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def planned(*targets: str) -> list[str]:
    """The commands make would run for these targets from scratch (-n: nothing is run)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        ["make", "-n", "-B", *targets], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


@pytest.mark.parametrize("target", [".venv/.runtime", ".venv/.test"])
def test_each_install_step_is_announced_and_pip_keeps_only_errors(target: str) -> None:
    commands = planned(target)
    steps = [n for n, c in enumerate(commands) if " -m venv " in c or " -m pip " in c]
    assert len(steps) == 3  # the virtual environment, pip, seatkeeper
    for n in steps:
        assert commands[n - 1].startswith("echo ") and commands[n - 1].endswith(' ..."'), commands[
            n
        ]
    said = "\n".join(c for c in commands if c.startswith("echo "))
    assert "Creating the virtual environment in .venv ..." in said
    assert "(about a minute the first time)" in said or "(about two minutes" in said
    # -qq: pip's errors stay, its warnings (such as "Location ... is ignored") go.
    assert all(" -m pip install -qq " in commands[n] for n in steps if " -m pip " in commands[n])
