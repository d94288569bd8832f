"""What an agent works in: an Interaction names a Flow the account offers, and its steps
are that Flow's steps; a session has a bounded number of Interactions open at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from seatkeeper.domain.errors import TooManyInteractions, UnknownFlow, UnknownStep
from seatkeeper.domain.model import Flow

NAMED = 20  # names a refusal lists, at most


def flow_to_open(name: str, offered: Sequence[Flow], *, open_now: int, limit: int) -> Flow:
    """The Flow to open as a new Interaction, refused when the session has `limit` open
    already or when the account offers no Flow of that name (the refusal names those it does)."""
    if open_now >= limit:
        raise TooManyInteractions(limit)
    found = next((flow for flow in offered if flow.name == name), None)
    if found is None:
        if not offered:
            raise UnknownFlow(
                f"The account offers no Flow named {name!r}: it has no Flows yet (a Designer "
                "registers them)."
            )
        offers = _names(f.name for f in offered)
        raise UnknownFlow(f"The account offers no Flow named {name!r}; it offers {offers}.")
    return found


def step_of(flow: Flow, step: str) -> str:
    """`step` if it is one of the Flow's steps; refused naming the Flow's steps otherwise."""
    if step not in flow.steps:
        raise UnknownStep(
            f"The Flow {flow.name!r} has no step {step!r}; its steps are {_names(flow.steps)}."
        )
    return step


def _names(names: Iterable[str]) -> str:
    every = list(names)
    shown = ", ".join(repr(n) for n in every[:NAMED])
    more = len(every) - NAMED
    return shown + (f" and {more} more" if more > 0 else "")
