"""What the operator commands (`sessions list`, `sessions terminate`, `usage`) read and print.

They work on the database itself (as an operator: every account, recorded as such), or
on a running server through its admin API (`--server URL --token TOKEN`, as the
token's user). Both ways read the same JSON the API answers, so they print the same.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import click
import httpx
import msgspec

from seatkeeper.cli.common import opened
from seatkeeper.clock import SystemClock
from seatkeeper.domain import validation
from seatkeeper.domain.errors import InvalidInput
from seatkeeper.services import access, admin
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
        try:
            answer = httpx.request(
                method,
                f"{self.url.rstrip('/')}/api/v1/accounts/{path}",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=60,
                **kwargs,
            )
        except httpx.HTTPError as exc:
            raise click.ClickException(f"seatkeeper at {self.url} did not answer: {exc}") from exc
        try:
            body: Json = answer.json() if answer.content else {}
        except ValueError:  # not seatkeeper answering: a proxy's page, a redirect...
            raise click.ClickException(
                f"{self.url} answered {answer.status_code} with no seatkeeper JSON: "
                f"{answer.text[:200]!r}"
            ) from None
        if answer.is_error:
            message = body.get("error", {}).get("message") or answer.text
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


def usage(source: Source, account: str) -> Json:
    if isinstance(source, Remote):
        return source.call("GET", f"{account}/usage")
    from seatkeeper.web.api.usage import usage_body

    now = SystemClock().now()
    with opened(source) as db:
        return _plain(usage_body(admin.account_usage(db, who(), account, now=now), now))


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
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    count = body["count"]
    lines.append(f"{count} open session{'' if count == 1 else 's'} in {body['account']}.")
    return "\n".join(lines)


def usage_chart(body: Json) -> str:
    """The three figures and a bar a day, the license total marked on every bar."""
    total = body["total"]
    peaks = [d["max_concurrent"] for d in body["days"]]
    top = max([total, *peaks, 1])
    mark = round(total / top * BAR_WIDTH)
    lines = [
        f"{body['account']}: licenses in use now {body['current']} / {total}; "
        f"daily average {body['daily_average']:g}; daily max {body['daily_max']}  "
        f"(days in {body['time_zone']})",
        "",
    ]
    for day in body["days"]:
        length = round(day["max_concurrent"] / top * BAR_WIDTH)
        bar = "█" * length + " " * (BAR_WIDTH - length)
        bar = bar[:mark] + "|" + bar[mark + 1 :] if mark < BAR_WIDTH else bar + "|"
        denials = f"  {day['denials']} refused" if day["denials"] else ""
        if day["minutes_at_cap"]:
            denials += f", {day['minutes_at_cap']} min at the cap"
        note = "" if day["account_existed"] else "  (before the account existed)"
        lines.append(f"{day['date']}  {bar} {day['max_concurrent']:>5}{denials}{note}")
    lines += ["", f"| = the {total} licenses the account owns.", body["advice"]]
    return "\n".join(lines)


def session_ids(values: tuple[str, ...]) -> list[UUID]:
    ids = []
    for value in values:
        try:
            ids.append(UUID(value))
        except ValueError:
            raise InvalidInput(f"{value!r} is not a session id.") from None
    return ids
