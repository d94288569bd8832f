"""Seats claimed and given back together: the opens and logouts waiting in this process,
decided in one transaction.

At a shift start hundreds of agents ask for a seat in the same second. Every claim must
be decided under its account's lock, and a transaction for each claim holds that lock
across several round trips and a commit: the claims queue behind one another's commits.
Decided together, they share them: the accounts are locked in id order, overdue
sessions ended, the seats counted once, and then each account's requests are decided
in the order they arrived against that count, and written with a few statements for
all of them. The cap holds as it always did: every decision is made under the lock,
against what the database holds, in the transaction that writes it; other processes
and instances meet the same lock.

A request's own refusal (a revoked key, a disabled agent, a session that had ended) is
its answer alone; the others are decided as if it had not come.

Where people wait in line for a license, whoever the rules give a seat is seated before
each claim is decided: a claim made later, on any instance, never takes a license from
someone waiting who may hold it. A claim that asks to wait, and gets no seat, joins the
end of the line (an agent already in it keeps their place, with a new ticket).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import Connection

from seatkeeper.clock import Clock
from seatkeeper.domain import keys as key_rules
from seatkeeper.domain import pool, seating
from seatkeeper.domain.errors import (
    AccountNotFound,
    DomainError,
    InvalidCredentials,
    InvalidToken,
    LicenseLimitReached,
    SessionNotFound,
)
from seatkeeper.domain.model import Account, AgentSession, EndReason, SeatGroup, User, Wait
from seatkeeper.services import accounts, alerts
from seatkeeper.services.pace import OpenPace
from seatkeeper.services.secrets import (
    SESSION_TOKEN_PREFIX,
    WAIT_TOKEN_PREFIX,
    new_token,
    token_hash,
)
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import keys, sessions, users, waits
from seatkeeper.storage import seating as stored_seating
from seatkeeper.storage.db import Database

BAD_KEY = "The application key is not valid, or has been revoked or expired."


@dataclass(frozen=True, slots=True)
class Claim:
    """An agent (a user, or a Guest) asking for a seat through an application key or
    through the account's console: exactly one of `key_hash` and `console` is given."""

    key_hash: str | None = None
    console: str | None = None  # the account's slug
    user: User | None = None  # None: a Guest
    asker: str | None = None  # the hashed address and browser a refusal keeps
    pace: OpenPace | None = None  # paced here; None: paced before (or never)
    source: str | None = None
    # Given: with no seat, wait in line, the ticket kept that long unless followed.
    wait: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """A logout: the session's token, and the session id the address named."""

    token: str
    session_id: str


@dataclass(frozen=True, slots=True)
class Opened:
    session: AgentSession
    token: str
    agent_id: str | None  # the username, None for a Guest
    joined: bool  # True when the agent already had this session open


@dataclass(frozen=True, slots=True)
class Refused:
    """No seat for the claim (the pool was full, the overdraft too, or the agent's groups
    allow none): the denial is recorded."""

    licenses: int
    overdraft: int
    # Why, as the seating rules said it (its sentence may name a group); left out of
    # comparisons: an exception equals only itself. None: the licenses and overdraft are full.
    reason: LicenseLimitReached | None = field(default=None, compare=False)

    def error(self) -> LicenseLimitReached:
        """The refusal the agent is told."""
        return self.reason or LicenseLimitReached(self.licenses, self.overdraft)


@dataclass(frozen=True, slots=True)
class Waiting:
    """No seat yet: a place in line, followed with `ticket` (shown only here)."""

    wait: Wait
    ticket: str
    ahead: int  # how many wait before it
    estimate: timedelta | None  # until a license frees for it, at the pace of departures


Request = Claim | Release
Answer = Opened | Refused | Waiting | None  # None: a session given back
_Item = tuple[int, Request, AgentSession | None]  # its place, and a release's session


def decide(db: Database, clock: Clock, requests: Sequence[Request]) -> list[Answer | Exception]:
    """Decide every request in one write transaction; each gets its answer or its refusal."""
    answers: list[Answer | Exception] = [None] * len(requests)
    with db.write() as conn:
        by_account, read = _accounts_of(conn, requests, clock.now(), answers)
        for account_id in sorted(by_account):  # the one order accounts are locked in
            turn = _Turn(conn, account_id, clock)
            turn.decide(by_account[account_id], answers, read.get(account_id))
    return answers


def _accounts_of(
    conn: Connection, requests: Sequence[Request], now: datetime, answers: list[Answer | Exception]
) -> tuple[dict[int, list[_Item]], dict[int, Account]]:
    """Each request's account, found in the transaction before any lock is taken, and the
    accounts read meanwhile (through a key or a console); a request whose key, console or
    session token is unknown is answered here."""
    doors: dict[tuple[str | None, str | None], Account | DomainError] = {}
    released = sessions.sessions_by_tokens(
        conn, [token_hash(r.token) for r in requests if isinstance(r, Release)]
    )
    by_account: dict[int, list[_Item]] = defaultdict(list)
    for i, request in enumerate(requests):
        found = None
        if isinstance(request, Release):
            found = released.get(token_hash(request.token))
            place = _released_account(request, found)
        else:
            door = (request.key_hash, request.console)
            if door not in doors:
                doors[door] = _door_account(conn, door, now)
            account = doors[door]
            place = account if isinstance(account, DomainError) else account.id
        if isinstance(place, DomainError):
            answers[i] = place
        else:
            by_account[place].append((i, request, found))
    read = {a.id: a for a in doors.values() if isinstance(a, Account)}
    return by_account, read


def _released_account(release: Release, session: AgentSession | None) -> int | DomainError:
    if session is None:
        return InvalidToken()
    if session.id != _uuid(release.session_id):
        return SessionNotFound()
    return session.account_id


def _door_account(
    conn: Connection, door: tuple[str | None, str | None], now: datetime
) -> Account | DomainError:
    """The account an application key or a console's slug opens (a key's use noted)."""
    key_hash, console = door
    if key_hash is None:
        try:
            return accounts.account_named(conn, console or "")
        except AccountNotFound as exc:
            return exc
    found = keys.application_key_in_use(conn, key_hash, now)
    if found is None:
        return InvalidToken(BAD_KEY)
    if key_rules.stale(found[1].last_used_at, now):
        keys.note_use(conn, found[1].key_id, now)
    return found[0]


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


@dataclass
class _Turn:
    """One account's requests, decided under its lock in the order they arrived."""

    conn: Connection
    account_id: int
    clock: Clock
    now: datetime = field(init=False)
    in_use: int = 0
    peak: int = 0
    unended: int = 0  # sessions not ended when the turn began, the overdue ones too
    held: dict[int, AgentSession] = field(default_factory=dict)  # an agent's open session
    ended: set[UUID] = field(default_factory=set)
    opened: list[AgentSession] = field(default_factory=list)
    joined: list[UUID] = field(default_factory=list)
    tokens: list[tuple[str, UUID]] = field(default_factory=list)
    refused: list[Claim] = field(default_factory=list)
    logins: set[int] = field(default_factory=set)
    # The account's seat groups in name order, each agent's (and the Guests') among them, and
    # the open sessions as the seating rules count them: read only if the account has groups.
    groups: list[SeatGroup] = field(default_factory=list)
    member_of: dict[int, list[SeatGroup]] = field(default_factory=dict)
    guests: list[SeatGroup] = field(default_factory=list)
    holdings: seating.Holdings = field(default_factory=seating.Holdings)
    line: list[Wait] = field(default_factory=list)  # live places not seated, first first
    seated: list[waits.Seated] = field(default_factory=list)
    departures: int | None = None  # sessions ended lately, for a new place's estimate

    def decide(
        self, items: list[_Item], answers: list[Answer | Exception], read: Account | None
    ) -> None:
        """Decide the account's requests; `read`: the account as this transaction read it."""
        conn, account_id = self.conn, self.account_id
        sqlite = conn.dialect.name == "sqlite"
        if sqlite and read is not None:
            account = read  # current: the transaction has held the database's lock all along
        else:
            account = stored_accounts.lock_account(conn, account_id)
        releasing = {found.id: found for _, _, found in items if found is not None}
        if releasing and not sqlite:
            # Read again, and locked, now that the account is: a session that ended since
            # its token was read is not counted twice, and no call for it runs meanwhile.
            # (On SQLite nothing was written in between: the transaction has held the
            # database's write lock all along.)
            releasing = sessions.sessions_by_id(conn, account_id, releasing, lock=True)
        # The time is read once the locks are held, so that the history orders claims,
        # logouts and calls as the locks did: it never shows more sessions open than
        # licenses and overdraft allow, nor a call after its session's end.
        self.now = self.clock.now()
        self.in_use, overdue = sessions.seat_use(conn, account_id, self.now)
        self.peak = self.in_use
        self.unended = self.in_use + overdue
        if overdue:
            sessions.expire_overdue_sessions(conn, self.now, account_id=account_id)
        self.line = waits.live(conn, waits.line(conn, account_id), account_id, self.now)
        agents = {r.user.id for _, r, _ in items if isinstance(r, Claim) and r.user is not None}
        current = users.users_by_id(conn, account_id, agents)
        waiters = {w.user_id for w in self.line if w.user_id is not None}
        self.held = sessions.open_sessions_of_users(conn, account_id, agents | waiters)
        if account.has_groups:
            leaving = {s.user_id for s in releasing.values() if s.user_id is not None}
            self._read_groups(agents | leaving | waiters)
        else:
            self.holdings = seating.Holdings(unreserved=self.in_use)
        for i, request, found in items:
            try:
                if isinstance(request, Release):
                    assert found is not None
                    self._release(releasing[found.id])
                else:
                    answers[i] = self._claim(account, request, current)
            except DomainError as exc:
                answers[i] = exc
        self._seat_line(account)  # what the last logouts freed
        self._write(account)

    def _read_groups(self, agents: set[int]) -> None:
        """The groups, the memberships of the agents claiming or leaving, and the holdings."""
        self.groups, self.member_of = stored_seating.seat_groups_of(
            self.conn, self.account_id, agents
        )
        self.guests = [g for g in self.groups if g.guests]
        self.holdings = stored_seating.holdings(self.conn, self.account_id, self.groups)

    def _groups_of(self, user_id: int | None) -> list[SeatGroup]:
        return self.guests if user_id is None else self.member_of.get(user_id, [])

    def _release(self, session: AgentSession) -> None:
        """Give the seat back, or refuse as any call for an ended session is refused."""
        if session.id in self.ended:
            raise pool.ended_error(EndReason.LOGOUT)
        ended = pool.end_of(session, self.now)  # overdue ones were just ended as timed out
        if ended is not None:
            raise pool.ended_error(ended[1])
        self.ended.add(session.id)
        self.in_use -= 1
        member_of = self._groups_of(session.user_id)
        self.holdings.count(session.group_id, session.reserved, member_of, step=-1)
        if session.user_id is not None:
            self.held.pop(session.user_id, None)

    def _claim(self, account: Account, claim: Claim, current: dict[int, User]) -> Answer:
        if claim.console is not None and not account.console_enabled:
            raise AccountNotFound
        if claim.pace is not None:
            claim.pace.take(account, claim.source, self.now)
        user = claim.user
        if user is None:
            pool.ensure_guest_allowed(account)
        elif (found := current.get(user.id)) is None or found.disabled:
            raise InvalidCredentials
        self._seat_line(account)  # those who asked before come first
        held = None if user is None else self.held.get(user.id)
        if held is not None:
            session = self._join(account, held)
        else:
            try:
                session = self._new_session(account, user)
            except LicenseLimitReached as refusal:  # GroupLimitReached too
                if claim.wait is not None:
                    return self._wait(claim, claim.wait)
                self.refused.append(claim)
                return Refused(account.licenses, account.overdraft, refusal)
        token = new_token(SESSION_TOKEN_PREFIX)  # made here: a refusal needs none
        self.tokens.append((token_hash(token), session.id))
        if user is not None:  # a session opened or joined: a login (a refusal is not)
            self.logins.add(user.id)
        username = None if user is None else user.username
        return Opened(session, token, username, joined=held is not None)

    def _seat_line(self, account: Account) -> None:
        """Seat whoever in line the rules give a license now, first asked first."""
        if not self.line:
            return
        seated = waits.seat_from_line(
            account,
            self.line,
            groups=self.groups,
            member_of={w.user_id: self._groups_of(w.user_id) for w in self.line},
            held=self.holdings,
            sessions_of=self.held,
            now=self.now,
        )
        for place in seated:
            self.line.remove(place.wait)
            if place.new:
                self.in_use += 1
                self.peak = max(self.peak, self.in_use)
            if place.wait.user_id is not None:
                self.held[place.wait.user_id] = place.session
        self.seated += seated

    def _wait(self, claim: Claim, keep: timedelta) -> Waiting:
        """A place at the end of the line; an agent already in it keeps theirs."""
        ticket = new_token(WAIT_TOKEN_PREFIX)
        expires_at = self.now + keep
        user_id = None if claim.user is None else claim.user.id
        for i, wait in enumerate(self.line):
            if user_id is not None and wait.user_id == user_id:
                waits.followed(
                    self.conn, wait.id, expires_at=expires_at, token_hash=token_hash(ticket)
                )
                self.line[i] = replace(wait, expires_at=expires_at)
                return Waiting(self.line[i], ticket, i, self._estimate(i))
        wait = waits.insert_wait(
            self.conn,
            account_id=self.account_id,
            user_id=user_id,
            token_hash=token_hash(ticket),
            asker=claim.asker,
            at=self.now,
            expires_at=expires_at,
        )
        self.line.append(wait)
        ahead = len(self.line) - 1
        return Waiting(wait, ticket, ahead, self._estimate(ahead))

    def _estimate(self, ahead: int) -> timedelta | None:
        if self.departures is None:  # counted once a turn, however many wait
            since = self.now - seating.RECENT
            self.departures = sessions.count_ended_between(
                self.conn, self.account_id, since, self.now
            )
        return seating.estimate(ahead, self.departures)

    def _join(self, account: Account, session: AgentSession) -> AgentSession:
        """Another browser of the agent joins their open session: its activity is now."""
        if session.last_activity_at >= self.now:  # joined already in this turn
            return session
        self.joined.append(session.id)
        joined = replace(
            session,
            last_activity_at=self.now,
            expires_at=pool.expiry(self.now, account.session_timeout),
        )
        assert joined.user_id is not None
        self.held[joined.user_id] = joined
        return joined

    def _new_session(self, account: Account, user: User | None) -> AgentSession:
        """A session on the seat the rules give it; or their refusal, raised."""
        member_of = self._groups_of(None if user is None else user.id)
        seat = seating.seat(
            licenses=account.licenses,
            overdraft=account.overdraft,
            groups=self.groups,
            member_of=member_of,
            held=self.holdings,
        )
        session = AgentSession(
            id=uuid4(),
            account_id=account.id,
            user_id=None if user is None else user.id,
            started_at=self.now,
            last_activity_at=self.now,
            expires_at=pool.expiry(self.now, account.session_timeout),
            ended_at=None,
            end_reason=None,
            overdraft=seat.overdraft,
            group_id=seat.group_id,
            reserved=seat.reserved,
        )
        self.holdings.count(seat.group_id, seat.reserved, member_of)
        self.opened.append(session)
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)
        if user is not None:
            self.held[user.id] = session
        return session

    def _write(self, account: Account) -> None:
        """Everything decided, in a few statements for all of it."""
        conn, now = self.conn, self.now
        sessions.end_sessions(conn, sorted(self.ended), at=now, reason=EndReason.LOGOUT)
        sessions.insert_sessions(conn, self.opened)
        expires_at = pool.expiry(now, account.session_timeout)
        for session_id in self.joined:
            sessions.touch_session(conn, session_id, now=now, expires_at=expires_at)
        sessions.insert_session_tokens(conn, self.tokens, now=now)
        sessions.insert_denials(
            conn, account.id, [(c.user.id if c.user else None, c.asker) for c in self.refused], now
        )
        users.record_logins(conn, sorted(self.logins), now)
        waits.write_seated(conn, account.id, self.seated, at=now, freed_at=now)
        if self.opened or self.seated:
            alerts.claimed(conn, account, self.peak, now)
        alerts.released(conn, account, max(self.peak, self.unended), self.in_use, now)
