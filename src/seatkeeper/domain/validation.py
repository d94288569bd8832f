"""Rules for the values people type: account slugs, time zones, license counts, names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from seatkeeper.domain import credentials
from seatkeeper.domain.errors import InvalidInput, InvalidSort
from seatkeeper.domain.model import EndReason, Flow, GridView, SortColumn
from seatkeeper.domain.pool import MAX_TIMEOUT, MIN_TIMEOUT

MAX_LICENSES = 1_000_000
MAX_NAME = 200
MAX_USERNAME = credentials.MAX_USERNAME
MIN_PASSWORD = credentials.MIN_PASSWORD
MAX_PASSWORD = credentials.MAX_PASSWORD
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_USERNAME = re.compile(r"[\w.@+-]+")


@cache
def zone_names() -> frozenset[str]:
    """The IANA time zone names, as the tzdata package lists them."""
    # Not zoneinfo.available_timezones(): it also offers the machine's "localtime".
    names = resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(names) - {"Factory"}


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`."""
    if name not in zone_names():
        raise InvalidInput(
            f"{name!r} is not an IANA time zone; use a name such as 'Europe/Paris' or "
            "'America/New_York'."
        )
    return ZoneInfo(name)


def is_slug(value: str) -> bool:
    """Whether `value` has the form of an account slug."""
    return _SLUG.fullmatch(value) is not None


def slug(value: str) -> str:
    """An account's short name as used in URLs."""
    if not is_slug(value):
        raise InvalidInput(
            f"{value!r} is not a valid account slug: use 1 to 63 lowercase letters, digits "
            "and hyphens, starting and ending with a letter or digit."
        )
    return value


def licenses(count: int) -> int:
    """A license total."""
    if not 0 <= count <= MAX_LICENSES:
        raise InvalidInput(
            f"The license count must be between 0 and {MAX_LICENSES:,}; got {count}."
        )
    return count


# An overdraft is a margin above the licenses, not a second pool: a generous fixed bound
# refuses typing slips (an extra zero or two) without tying it to the license total.
MAX_OVERDRAFT = 100_000


def overdraft(count: int) -> int:
    """How many sessions an account may open beyond its licenses."""
    if not 0 <= count <= MAX_OVERDRAFT:
        raise InvalidInput(f"The overdraft must be between 0 and {MAX_OVERDRAFT:,}; got {count:,}.")
    return count


MAX_INTERACTIONS = 100


def max_interactions(count: int) -> int:
    """How many Interactions one session may have open at once."""
    if not 1 <= count <= MAX_INTERACTIONS:
        raise InvalidInput(
            "The open Interactions per session must be between 1 and "
            f"{MAX_INTERACTIONS}; got {count}."
        )
    return count


# Rows are kept at least a month (the Active Agents page reads 30 days of them, and the
# day before) and at most a hundred years.
MIN_RETENTION_DAYS = 31
MAX_RETENTION_DAYS = 36_600


def retention_days(days: int) -> int:
    """How many days session, Interaction and refusal rows are kept."""
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput(
            "Session, Interaction and refusal rows must be kept between "
            f"{MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS:,} days; got {days:,}."
        )
    return days


def session_timeout(timeout: timedelta) -> timedelta:
    """An account's session timeout."""
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise InvalidInput(
            "The session timeout must be between 1 minute and 24 hours; "
            f"got {timeout.total_seconds() / 60:g} minutes."
        )
    return timeout


def display_name(value: str) -> str:
    """An account's name, as people read it."""
    return text("An account's name", value, MAX_NAME)


def text(what: str, value: str, longest: int) -> str:
    """`value` without surrounding blanks; refused, naming `what` and the rule it breaks,
    when blank, longer than `longest`, or holding a control character."""
    value = value.strip()
    if not value:
        raise InvalidInput(f"{what} must not be blank.")
    if len(value) > longest:
        raise InvalidInput(
            f"{what} must be at most {longest:,} characters long; this one has {len(value):,}."
        )
    if not is_printable(value):
        raise InvalidInput(f"{what} must not contain control characters (such as NUL).")
    return value


def is_username(value: str) -> bool:
    """Whether `value` has the form of a username. "." and ".." are not: no address could
    name them (browsers and HTTP clients drop such a path segment)."""
    return (
        1 <= len(value) <= MAX_USERNAME
        and _USERNAME.fullmatch(value) is not None
        and value not in {".", ".."}
    )


def username(value: str) -> str:
    """A user's login name (the rules are in `credentials`)."""
    return credentials.username(value)


def password(value: str, *, not_like: Sequence[str] = ()) -> str:
    """A new password: long enough, not a common one, not the username nor the account."""
    return credentials.password(value, not_like=not_like)


MAX_FLOW_NAME = 200
MAX_STEPS = 50
# Control characters: C0, DEL and C1 (Unicode's "Cc" category), refused in whatever
# seatkeeper keeps (a NUL byte is not even text to PostgreSQL) and at the door (web.guard).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    """Whether `text` holds a control character."""
    return _CONTROL.search(text) is not None


def is_printable(text: str) -> bool:
    """Whether `text` is not blank and holds no control character."""
    return not text.isspace() and bool(text) and not has_control(text)


def flow_name(name: str) -> str:
    """A Flow's name: 1 to MAX_FLOW_NAME printable characters, blanks around it dropped."""
    return text("A Flow's name", name, MAX_FLOW_NAME)


def flow(name: str, steps: Sequence[str]) -> Flow:
    """A Flow to register: a printable name, and 1 to 50 printable step titles."""
    name = flow_name(name)
    if not 1 <= len(steps) <= MAX_STEPS:
        raise InvalidInput(f"A Flow has 1 to {MAX_STEPS} steps; got {len(steps)}.")
    titles = tuple(text("A step's title", step, MAX_FLOW_NAME) for step in steps)
    return Flow(name, titles)


_SORTS: dict[str, SortColumn] = {
    "agent_id": "agent_id",
    "session_start": "session_start",
    "open_interactions_count": "open_interactions_count",
}


MAX_PER_PAGE = 500
MAX_PAGE = 1_000_000
MAX_SEARCH = 100


def grid_view(
    sort: str | None = None,
    order: str | None = None,
    *,
    search: str | None = None,
    page: int = 1,
    per_page: int = 50,
    group: str | None = None,
) -> GridView:
    """The part of the Active Agents grid asked for: sort column and order, search, seat
    group, page."""
    if sort == "open_interactions":
        raise InvalidSort(
            "The grid cannot be sorted by Open Interactions; sort by agent_id, "
            "session_start or open_interactions_count."
        )
    column = _SORTS.get(sort or "session_start")
    if column is None:
        raise InvalidSort(f"Unknown sort column {sort!r}; use one of {', '.join(_SORTS)}.")
    if order not in (None, "", "asc", "desc"):
        raise InvalidSort(f"Unknown order {order!r}; use asc or desc.")
    paging(page, per_page)
    search = (search or "").strip() or None
    if search is not None:
        search = text("The search", search, MAX_SEARCH)
    return GridView(column, order == "desc", search, page, per_page, group_id(group))


def group_id(value: str | None) -> int | None:
    """A seat group's id asked for in a query (None or empty: no group)."""
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidInput(f"The group must be a seat group's id, a number; got {value[:40]!r}.")
    return int(value)


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows fill (one, even when there are none)."""
    return max(1, -(-total // per_page))


EVERY_ROW = 1_000_000  # a download, or the operator's list, holds every matching session


def every_row(
    sort: str | None, order: str | None, *, search: str | None = None, group: str | None = None
) -> GridView:
    """The whole grid, sorted and searched as asked (for downloads and the operator)."""
    return replace(grid_view(sort, order, search=search, group=group), per_page=EVERY_ROW)


def paging(page: int, per_page: int) -> None:
    """Refuse a page before the first, or one too small or too large."""
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"The page must be from 1 to {MAX_PAGE:,}; got {page}.")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}; got {per_page}.")


def end_reason(reason: str | None) -> EndReason | None:
    """An end reason to filter by (None or empty: every reason)."""
    if not reason:
        return None
    try:
        return EndReason(reason)
    except ValueError:
        names = ", ".join(r.value for r in EndReason)
        raise InvalidInput(f"Unknown end reason {reason!r}; use one of {names}.") from None
