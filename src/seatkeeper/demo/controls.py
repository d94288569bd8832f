"""Pausing and resuming the simulated agents while the demo runs: a key, or a signal."""

from __future__ import annotations

import os
import signal
import sys
import termios
import threading
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import click

from seatkeeper.demo.simulation import Simulation

PAUSE_KEY = "p"


def toggle(simulation: Simulation) -> None:
    """Pause the simulated agents, or resume them, and say which."""
    if simulation.paused:
        simulation.resume()
        click.echo("Simulated agents resumed: they log in and work again.")
    else:
        simulation.pause()
        click.echo("Simulated agents paused: they log out and stay out until resumed.")


def read_keys(stream: TextIO, simulation: Simulation) -> None:
    """Toggle the agents at each `p` read from the stream, until it ends."""
    while key := stream.read(1):
        if key.lower() == PAUSE_KEY:
            toggle(simulation)


@contextmanager
def pause_controls(simulation: Simulation, stdin: TextIO | None = None) -> Iterator[str]:
    """Toggle the agents on SIGUSR1, and on `p` when stdin is a terminal; yields how, in words."""
    stdin = stdin or sys.stdin  # read at the call: it may have been replaced since import
    previous = signal.signal(signal.SIGUSR1, lambda _signum, _frame: toggle(simulation))
    how = f"kill -USR1 {os.getpid()}"
    saved = None
    if stdin.isatty():
        saved = termios.tcgetattr(stdin.fileno())
        # Keys arrive one at a time, without Enter nor echo; Ctrl-C still interrupts.
        tty.setcbreak(stdin.fileno())
        keys = threading.Thread(target=read_keys, args=(stdin, simulation), daemon=True)
        keys.start()
        how = f"press {PAUSE_KEY}, or run: {how}"
    try:
        yield how
    finally:
        signal.signal(signal.SIGUSR1, previous)
        if saved is not None:
            termios.tcsetattr(stdin.fileno(), termios.TCSADRAIN, saved)
