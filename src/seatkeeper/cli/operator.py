"""What the operator commands (`sessions list`, `sessions terminate`, `usage`) read and print.

They work on the database itself (as an operator: every account, recorded as such), or
on a running server through its admin API (`--server URL --token TOKEN`, as the
token's user). Both ways read the same JSON the API answers, so they print the same.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import click
import httpx
import msgspec

from seatkeeper.cli.common import opened
from seatkeeper.clock import SystemClock
from seatkeeper.domain import periods, validation
from seatkeeper.domain.errors import InvalidInput, InvalidPeriod
from seatkeeper.domain.words import plural
from seatkeeper.services import access, admin, line
from seatkeeper.storage.db import Database
from seatkeeper.web import presenters as shown

Json = dict[str, Any]
BAR_WIDTH = 40


@dataclass(frozen=True)
class Remote:
    """A running seatkeeper, reached through its admin API."""

    url: str
    token: str

    def call(self, method: str, path: str, **kwargs: Any) -> Json:
        answer = self._send(method, path, **kwargs)
        body: Json = self._body(answer)
        return body

    def download(self, path: str, params: dict[str, str]) -> str:
        """A download's text (CSV), refused as `call` refuses."""
        answer = self._send("GET", path, params=params)
        if answer.is_error:
            self._body(answer)
        return answer.text

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return httpx.request(
                method,
                f"{self.url.rstrip('/')}/api/v1/accounts/{path}",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=60,
                **kwargs,
            )
        except httpx.HTTPError as exc:
            raise click.ClickException(f"seatkeeper at {self.url} did not answer: {exc}") from exc

    def _body(self, answer: httpx.Response) -> Json:
        try:
            body: Json = answer.json() if answer.content else {}
        except ValueError:  # not seatkeeper answering: a proxy's page, a redirect...
            raise click.ClickException(
                f"{self.url} answered {answer.status_code} with no seatkeeper JSON: "
                f"{answer.text[:200]!r}"
            ) from None
        if answer.is_error:
            error = body.get("error", {})
            message = error.get("message") or answer.text
            if error.get("code") == InvalidPeriod.code:  # what the command was given
                raise click.UsageError(message)
            raise click.ClickException(f"{answer.status_code}: {message}")
        return body


Source = Remote | Callable[[], Database]


def sessions(source: Source, account: str, sort: str, desc: bool, search: str | None) -> Json:
    """Every open session of the account, as `GET .../active-sessions/export?format=json`."""
    order = "desc" if desc else "asc"
    if isinstance(source, Remote):
        params = {
            "sort": sort,
            "order": order,
            "format": "json",
            **({"q": search} if search else {}),
        }
        return source.call("GET", f"{account}/active-sessions/export", params=params)
    from seatkeeper.web.api.admin import grid_body

    view = validation.every_row(sort, order, search=search)
    with opened(source) as db:
        grid = admin.active_sessions(db, who(), account, view=view, now=SystemClock().now())
    return _plain(grid_body(grid, view))


def terminate(source: Source, account: str, ids: list[UUID]) -> Json:
    if isinstance(source, Remote):
        body = {"session_ids": [str(i) for i in ids]}
        return source.call("POST", f"{account}/active-sessions/terminate", json=body)
    with opened(source) as db:
        done = admin.terminate_sessions(
            db, who(), account, ids, clock=SystemClock(), source=socket.gethostname()
        )
    return {
        "terminated": len(done.terminated),
        "terminated_ids": [str(i) for i in done.terminated],
        "already_ended": [str(i) for i in done.already_ended],
        "not_found": [str(i) for i in done.not_found],
    }


def waiting(source: Source, account: str) -> Json:
    """Who waits in the account's line for a license, as `GET .../waits`."""
    if isinstance(source, Remote):
        return source.call("GET", f"{account}/waits")
    from seatkeeper.web.api.line import waits_body

    now = SystemClock().now()
    with opened(source) as db:
        found = line.account_line(db, who(), account, now=now)
    return _plain(waits_body(found, now))


def usage(source: Source, account: str, asked: periods.Asked = periods.LAST_30_DAYS) -> Json:
    """The usage of the period asked for, as `GET .../usage`."""
    if isinstance(source, Remote):
        return source.call("GET", f"{account}/usage", params=_period_query(asked))
    from seatkeeper.web.api.usage import usage_body

    now = SystemClock().now()
    with opened(source) as db:
        return _plain(usage_body(_account_usage(db, account, asked, now), now))


def usage_csv(source: Source, account: str, asked: periods.Asked) -> str:
    """The usage download of the period asked for, as `GET .../usage/export?format=csv`: a
    row a day, or by month the true-up table."""
    if isinstance(source, Remote):
        query = {**_period_query(asked), "format": "csv"}
        return source.download(f"{account}/usage/export", query)
    from seatkeeper.web.api.export import usage_csv as csv_of
    from seatkeeper.web.api.usage import usage_body

    now = SystemClock().now()
    with opened(source) as db:
        found = _account_usage(db, account, asked, now)
    return csv_of(found, usage_body(found, now)).decode()


def _account_usage(
    db: Database, account: str, asked: periods.Asked, now: datetime
) -> admin.AccountUsage:
    try:
        return admin.account_usage(db, who(), account, now=now, asked=asked)
    except InvalidPeriod as exc:  # what the command was given: a usage error
        raise click.UsageError(exc.message) from exc


def _period_query(asked: periods.Asked) -> dict[str, str]:
    pairs = {"period": asked.name, "from": asked.first, "to": asked.last, "by": asked.by}
    return {key: value for key, value in pairs.items() if value is not None}


def who() -> access.Operator:
    """Who ran the command, as the audit trail records it (at most 100 characters)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a uid with no name, and no $USER
        user = f"uid {os.getuid()}"
    return access.Operator(f"{user}@{socket.gethostname()}"[:80] + " (operator command)")


def _plain(body: object) -> Json:
    """A response body as the API's JSON would read back."""
    plain: Json = msgspec.to_builtins(body)
    return plain


# --- what is printed ----------------------------------------------------------------------


def session_table(body: Json) -> str:
    """The open sessions as a table a person reads in a terminal."""
    header = ("SESSION", "AGENT", f"STARTED ({body['time_zone']})", "OPEN", "FLOWS")
    rows = [
        (
            s["session_id"],
            shown.agent_label(s["agent_id"]),
            s["session_start"][:19].replace("T", " "),
            str(s["open_interactions_count"]),
            ", ".join(s["open_interactions"]),
        )
        for s in body["sessions"]
    ]
    count = body["count"]
    return _table(header, rows, f"{plural(count, 'open session')} in {body['account']}.")


def waiting_table(body: Json) -> str:
    """The line as a table a person reads in a terminal, first first."""
    if not body["places"]:
        return f"Nobody waits for a license in {body['account']}."
    header = ("POSITION", "AGENT", f"WAITING SINCE ({body['time_zone']})", "FOR")
    rows = [
        (
            str(p["position"]),
            shown.agent_label(p["agent_id"]),
            p["asked_at"][:19].replace("T", " "),
            shown.duration(timedelta(seconds=p["waiting_seconds"])),
        )
        for p in body["places"]
    ]
    count = body["count"]
    said = f"{plural(count, 'agent')} waiting for a license in {body['account']}."
    return _table(header, rows, said)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], last: str) -> str:
    """Columns as wide as their widest cell, two spaces apart, and a closing sentence."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join([*lines, last])


def usage_chart(body: Json) -> str:
    """The three figures and a bar a day, the license total marked on every bar."""
    total = body["total"]
    peaks = [d["max_concurrent"] for d in body["days"]]
    top = max([total, *peaks, 1])
    mark = round(total / top * BAR_WIDTH)
    lines = [
        f"{body['account']}: licenses in use now {body['current']} / {total}; "
        f"daily average {body['daily_average']:g}; daily max {body['daily_max']}  "
        f"({_period_words(body)}, days in {body['time_zone']})",
        "",
    ]
    for day in body["days"]:
        length = round(day["max_concurrent"] / top * BAR_WIDTH)
        bar = "█" * length + " " * (BAR_WIDTH - length)
        bar = bar[:mark] + "|" + bar[mark + 1 :] if mark < BAR_WIDTH else bar + "|"
        denials = f"  {day['denials']} refused" if day["denials"] else ""
        if day["minutes_at_cap"]:
            denials += f", {day['minutes_at_cap']} min at the cap"
        if day["overdraft_peak"]:
            denials += f", {day['overdraft_peak']} beyond the licenses"
        note = "" if day["account_existed"] else "  (before the account existed)"
        lines.append(f"{day['date']}  {bar} {day['max_concurrent']:>5}{denials}{note}")
    lines += ["", f"| = the {plural(total, 'license')} the account owns.", body["advice"]]
    return "\n".join(lines)


def _period_words(body: Json) -> str:
    """ "the last 30 days", "1 Mar 2026 to 31 May 2026 (2026-03-01 to 2026-05-31)"."""
    period = body["period"]
    return f"{period['label']}: {period['first']} to {period['last']}"


TRUEUP_HEADER = (
    "MONTH",
    "DAYS",
    "PEAK",
    "ON",
    "AVG PEAK",
    "MIN AT CAP",
    "OVER PEAK",
    "OVER MIN",
    "REFUSED",
    "NEEDED",
)


def trueup_table(body: Json) -> str:
    """The true-up table: a row per calendar month, as license contracts are trued up."""
    rows = []
    for m in body["months"]:
        first, last = int(m["first"][8:]), int(m["last"][8:])
        days = (f"{first}" if first == last else f"{first}-{last}") + (
            " only" if m["partial"] else ""
        )
        rows.append(
            (
                m["month"],
                days,
                str(m["peak"]),
                m["peak_date"] if m["peak"] else "-",  # no day of a peak of none
                f"{m['average_daily_peak']:g}",
                str(m["minutes_at_cap"]),
                str(m["overdraft_peak"]),
                "-" if m["overdraft_minutes"] is None else str(m["overdraft_minutes"]),
                str(m["denials"]),
                str(m["licenses_needed"]) if m["account_existed"] else "-",
            )
        )
    widths = [max(len(r[i]) for r in [TRUEUP_HEADER, *rows]) for i in range(len(TRUEUP_HEADER))]
    lines = [
        f"{body['account']}: monthly peaks over {_period_words(body)} (days in "
        f"{body['time_zone']}); licenses in use now {body['current']} / {body['total']}",
        "",
    ]
    lines += [
        "  ".join(
            cell.ljust(w) if n < 2 or n == 3 else cell.rjust(w)
            for n, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [TRUEUP_HEADER, *rows]
    ]
    lines += [
        "",
        "PEAK: the most sessions open at once, ON the first day of it; AVG PEAK: the mean "
        "daily peak; OVER PEAK and OVER MIN: the most sessions beyond the licenses, and their "
        "session-minutes; NEEDED: licenses that would have refused no one.",
        body["advice"],
    ]
    return "\n".join(lines)


def session_ids(values: tuple[str, ...]) -> list[UUID]:
    ids = []
    for value in values:
        try:
            ids.append(UUID(value))
        except ValueError:
            raise InvalidInput(f"{value!r} is not a session id.") from None
    return ids
