"""Real seatkeeper server processes for tests that need them (races, browsers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_servers(database_url: str, count: int, log_dir: Path) -> Iterator[list[str]]:
    """Start `count` server processes on one database; yields their base URLs."""
    env = {
        **os.environ,
        "SEATKEEPER_FAST_PASSWORD_HASHING": "true",
        "SEATKEEPER_LOG_LEVEL": "warning",
    }
    procs, urls = [], []
    try:
        for n in range(count):
            port = free_port()
            log = (log_dir / f"server-{n}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "seatkeeper",
                        "--database-url",
                        database_url,
                        "serve",
                        "--port",
                        str(port),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            _wait_until_up(url, proc, log_dir)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log_dir: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            logs = "\n".join(p.read_text() for p in log_dir.glob("server-*.log"))
            raise RuntimeError(f"server exited with {proc.returncode}:\n{logs}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start within 30 s")
