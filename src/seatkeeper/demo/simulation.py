"""Simulated agents: threads that work in Flows through the Python client, as people would.

Each agent logs in (or works as a Guest), opens a few Flows as Interactions, steps
through them with pauses, closes them, heartbeats while idle, and now and then
logs out for a break. Refusals are part of the day: a full pool means waiting and
trying again, a session ended by the server means starting a new one.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from random import Random

import httpx

from seatkeeper.client import (
    Client,
    Interaction,
    LicenseLimitReached,
    LoginsBusy,
    SeatkeeperError,
    Session,
    SessionEnded,
    TooManyOpens,
)

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20.0
HTTP_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class SimulationStats:
    """What the simulated agents did so far."""

    sessions: int = 0
    interactions: int = 0
    steps: int = 0
    heartbeats: int = 0
    logouts: int = 0
    license_refusals: int = 0
    sessions_ended_by_server: int = 0
    slow_answers: int = 0
    errors: int = 0


class Simulation:
    """A crowd of simulated agents working against one seatkeeper server."""

    def __init__(
        self,
        base_url: str,
        application_key: str,
        *,
        agents: list[tuple[str, str]],
        guests: int,
        seed: int | None = None,
        speed: float = 1.0,
        paused: bool = False,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.base_url = base_url
        self.application_key = application_key
        self.speed = speed
        self.stopping = threading.Event()
        # Set while the agents work; cleared by pause() (and set again by stop(), to let
        # the parked agents finish).
        self.working = threading.Event()
        # Set on pause() or stop(): it cuts every agent's wait short.
        self.interrupted = threading.Event()
        if paused:
            self.interrupted.set()
        else:
            self.working.set()
        self._parked = 0
        self._lock = threading.Lock()
        self._stats = SimulationStats()
        seeds = _rng(seed)
        people: list[tuple[str, str] | None] = [*agents, *([None] * guests)]
        self._agents = [_Agent(self, who, _rng(seeds.random())) for who in people]
        self._threads: list[threading.Thread] = []
        self.flows: dict[str, tuple[str, ...]] = {}

    def start(self) -> None:
        """Read the account's Flows, then start every agent's thread."""
        with Client(self.base_url, self.application_key, timeout=HTTP_TIMEOUT_SECONDS) as client:
            # Interactions name the account's Flows: without any, agents only keep sessions.
            self.flows = {flow.name: flow.steps for flow in client.flows()}
        for n, agent in enumerate(self._agents):
            thread = threading.Thread(target=agent.run, name=f"sim-{n}-{agent.label}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Log every agent out and wait (up to `timeout` seconds) for their threads."""
        self.stopping.set()
        self.interrupted.set()
        self.working.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = sum(t.is_alive() for t in self._threads)
        if alive:
            log.warning("%d simulated agents did not stop in %.0f s", alive, timeout)

    @property
    def paused(self) -> bool:
        """Whether the agents are told to stay logged out."""
        return not self.working.is_set()

    @property
    def parked(self) -> int:
        """How many agents are logged out and waiting to be resumed."""
        with self._lock:
            return self._parked

    def pause(self) -> None:
        """Every agent logs out and opens nothing until resume()."""
        self.working.clear()
        self.interrupted.set()

    def resume(self) -> None:
        """The agents log in and work again."""
        if not self.stopping.is_set():
            self.interrupted.clear()
            self.working.set()

    def park(self) -> None:
        """Wait, logged out, until the agents are resumed or the simulation stops."""
        with self._lock:
            self._parked += 1
        try:
            self.working.wait()
        finally:
            with self._lock:
                self._parked -= 1

    @property
    def stats(self) -> SimulationStats:
        """A snapshot of the counters."""
        with self._lock:
            return self._stats

    def count(self, counter: str) -> None:
        """Add one to a counter of SimulationStats."""
        with self._lock:
            self._stats = replace(self._stats, **{counter: getattr(self._stats, counter) + 1})


def _rng(seed: float | None) -> Random:
    return Random(seed)  # noqa: S311 (made-up behavior, not secrets)


class _Agent:
    """One simulated person at one browser."""

    def __init__(self, sim: Simulation, credentials: tuple[str, str] | None, rng: Random) -> None:
        self.sim = sim
        self.credentials = credentials
        self.rng = rng
        self.label = "guest" if credentials is None else credentials[0]
        self.session: Session | None = None

    def run(self) -> None:
        """The thread's body: work until the simulation stops, then log out."""
        client = Client(self.sim.base_url, self.sim.application_key, timeout=HTTP_TIMEOUT_SECONDS)
        try:
            # Staggered arrivals: nobody logs in at the very same instant.
            self._pause(0, 5)
            self._live(client)
        finally:
            self._logout()
            client.close()

    def _live(self, client: Client) -> None:
        while not self.sim.stopping.is_set():
            if self.sim.paused:
                self._logout()
                self.sim.park()
                self._pause(0, 5)  # back one by one, as at the start
                continue
            try:
                self._shift(client)
            except SessionEnded as exc:
                # Terminated by an admin, or timed out: start over after a moment.
                log.info("%s: %s", self.label, exc.message)
                self.sim.count("sessions_ended_by_server")
                self.session = None
                self._pause(3, 8)
            except httpx.TimeoutException:
                # A busy machine (the demo shares it with a browser): no error, wait and retry.
                log.info("%s: the server was slow to answer; trying again", self.label)
                self.sim.count("slow_answers")
                self._pause(2, 5)
            except (SeatkeeperError, httpx.HTTPError) as exc:
                log.warning("%s: %s", self.label, exc)
                self.sim.count("errors")
                self._pause(2, 5)
            except Exception:
                log.exception("%s: unexpected error", self.label)
                self.sim.count("errors")
                self._pause(2, 5)

    def _shift(self, client: Client) -> None:
        """Open (or keep) a session, work a few blocks, and sometimes take a break."""
        if self.session is None:
            self.session = self._open(client)
            if self.session is None:
                return
        for _ in range(self.rng.randint(2, 5)):
            if not (self._work(self.session) and self._idle(self.session)):
                return
        if self.rng.random() < 0.4:
            self._logout()
            self._pause(20, 60)

    def _open(self, client: Client) -> Session | None:
        """A new session, waiting for a free license as long as it takes (None on a pause
        or stop)."""
        while not self.sim.interrupted.is_set():
            try:
                session = client.open_session(*(self.credentials or ()))
            except LicenseLimitReached:
                self.sim.count("license_refusals")
                self._pause(5, 15)
                continue
            except LoginsBusy:  # the server checks other logins: try again in a moment
                self._pause(1, 3)
                continue
            except TooManyOpens:  # the whole crowd shares one address: it waits its turn
                self._pause(5, 15)
                continue
            self.sim.count("sessions")
            return session
        return None

    def _work(self, session: Session) -> bool:
        """Open one to three Flows, step through each and close it. False on a pause or stop."""
        names = sorted(self.sim.flows)
        if not names:
            return self._pause(1, 3)
        flows = [self.rng.choice(names) for _ in range(self.rng.choice((1, 1, 2, 2, 3)))]
        if len(flows) > 1 and self.rng.random() < 0.25:
            flows[1] = flows[0]  # the same Flow open twice, in two tabs
        opened: list[Interaction] = []
        for flow in flows:
            opened.append(session.open_interaction(flow))
            self.sim.count("interactions")
            if not self._pause(1, 4):
                return False
        for interaction in opened:
            for step in self.sim.flows[interaction.flow]:
                interaction.step(step)
                self.sim.count("steps")
                if not self._pause(2, 6):
                    return False
            interaction.close()
        return self._pause(1, 3)

    def _idle(self, session: Session) -> bool:
        """Wait for the next customer, keeping the session alive. False on a pause or stop."""
        remaining = self.rng.uniform(10, 60)
        while remaining > 0:
            wait = min(remaining, HEARTBEAT_SECONDS)
            if self.sim.interrupted.wait(wait / self.sim.speed):
                return False
            remaining -= wait
            session.heartbeat()
            self.sim.count("heartbeats")
        return True

    def _logout(self) -> None:
        if self.session is None:
            return
        session, self.session = self.session, None
        try:
            session.logout()
            self.sim.count("logouts")
        except SessionEnded:
            pass  # already over: nothing to free
        except (SeatkeeperError, httpx.HTTPError) as exc:
            log.warning("%s: could not log out: %s", self.label, exc)
            self.sim.count("errors")

    def _pause(self, low: float, high: float) -> bool:
        """Think for a few (scaled) seconds; False when the simulation pauses or stops."""
        return not self.sim.interrupted.wait(self.rng.uniform(low, high) / self.sim.speed)
