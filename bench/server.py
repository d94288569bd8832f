"""The server under test: one `seatkeeper serve` process on a socket we bind, pinned to a core."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.wrk import SERVER_CORE, pinned

SERVER_ENV = {
    "SEATKEEPER_FAST_PASSWORD_HASHING": "true",
    "SEATKEEPER_LOG_LEVEL": "warning",
    "SEATKEEPER_SWEEP_SECONDS": "0",
    "SEATKEEPER_OPENS_PER_MINUTE": "0",  # one address opens every session: no pace
    "SEATKEEPER_WEBHOOK_SECONDS": "0",  # no periodic task, as when bench/RESULTS.md was measured
}


def seatkeeper(database_url: str, *args: str) -> str:
    """Run a seatkeeper CLI command on the database; its output, or an error saying why."""
    command = [sys.executable, "-m", "seatkeeper", "--database-url", database_url, *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`seatkeeper {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Memory:
    """A process's resident memory now and at its peak, in MiB."""

    rss: float
    hwm: float


class Server:
    """A running server: its URL and its memory."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def memory(self) -> Memory:
        """VmRSS and VmHWM from /proc/<pid>/status."""
        fields: dict[str, float] = {}
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return Memory(fields["VmRSS"], fields["VmHWM"])

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def serve(
    database_url: str, log: Path, *, env: dict[str, str] | None = None, pin: bool = True
) -> Iterator[Server]:
    """Start `seatkeeper serve --fd N` on a socket bound here, pinned to the server's core
    (unless `pin` is false), with SERVER_ENV and then `env` in its environment."""
    with socket.socket() as listener, log.open("wb") as out:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        fd = listener.fileno()
        command = [sys.executable, "-m", "seatkeeper", "--database-url", database_url]
        command += ["serve", "--fd", str(fd)]
        process = subprocess.Popen(
            pinned(SERVER_CORE, command) if pin else command,
            env={**os.environ, **SERVER_ENV, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=[fd],
        )
        server = Server(f"http://127.0.0.1:{listener.getsockname()[1]}", process, log)
        try:
            _wait_until_up(server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within 60 s:\n{server.tail()}")
