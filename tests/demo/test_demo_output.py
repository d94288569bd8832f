"""What a person reads in the terminal: the demo and the server log in one format, and
normal events (agents coming and going, timing out, pausing) are no warnings."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.servers import SERVER_ENV, server_process, wait_until_up
from tests.waiting import PATIENCE, wait_until

# web.logs.FORMAT: "2026-12-01 13:09:45,802 INFO     seatkeeper.housekeeping: ..."
LOG_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) +[\w.]+: "
)
# A line any log format begins with: a level (uvicorn's "INFO:     ...", Litestar's
# "INFO - 2026-...") or a date (ours).
ANY_LOG_LINE = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|\d{4}-\d\d-\d\d ")


def log_lines(text: str) -> list[str]:
    """The lines that are log records, in whichever format."""
    return [line for line in text.splitlines() if ANY_LOG_LINE.match(line)]


@pytest.mark.slow
def test_the_server_logs_in_one_format(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with server_process(db_url, listener, log, env={"SEATKEEPER_LOG_LEVEL": "info"}) as proc:
            wait_until_up(url, proc, tmp_path)
            assert httpx.get(f"{url}/no-such-page").status_code == 404
            wait_until(lambda: "/no-such-page" in log.read_text(), "the access log's line")
    lines = log_lines(log.read_text())
    assert [line for line in lines if not LOG_LINE.match(line)] == []
    names = {LOG_LINE.match(line).group(0).split()[-1] for line in lines}  # type: ignore[union-attr]
    assert {"uvicorn.error:", "uvicorn.access:"} <= names


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_the_demo_starts_pauses_and_stops_without_a_warning(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "demo.out"
    env = {k: v for k, v in os.environ.items() if k != "SEATKEEPER_DATABASE_URL"}
    env |= {"PYTHONUNBUFFERED": "1", **SERVER_ENV}
    command = [sys.executable, "-m", "seatkeeper", "demo", "--agents", "4", "--port", str(port)]
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: "Press Ctrl-C to stop." in out.read_text(), "the demo to start")
        token = re.search(r"Admin API token +(\S+)", out.read_text()).group(1)  # type: ignore[union-attr]
        assert f"to pause or resume them: kill -USR1 {proc.pid}" in out.read_text()

        def sessions() -> int:
            answer = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/accounts/demo/active-sessions",
                headers={"Authorization": f"Bearer {token}"},
                timeout=PATIENCE,
            )
            return len(answer.json()["sessions"])

        wait_until(lambda: sessions() > 0, "simulated agents to log in")
        proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: sessions() == 0, "the paused agents to log out")
        proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: sessions() > 0, "the resumed agents to log in again")
    finally:
        proc.terminate()
        proc.wait(timeout=PATIENCE)
    printed = out.read_text()
    assert "Simulated agents paused" in printed and "Simulated agents resumed" in printed
    assert "Goodbye!" in printed
    assert "WARNING" not in printed and "Traceback" not in printed
    assert [line for line in log_lines(printed) if not LOG_LINE.match(line)] == []
