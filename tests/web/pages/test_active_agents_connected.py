"""The sentence the Active Agents page's live region says of the grid."""

from __future__ import annotations

import pytest

from seatkeeper.web.pages.active_agents import connected
from seatkeeper.web.pages.views import Grid


def grid(total: int, *, exact: bool = True, search: str = "") -> Grid:
    return Grid(
        sort="session_start",
        order="asc",
        search=search,
        columns=(),
        rows=(),
        page=1,
        pages=1,
        total=total,
        exact=exact,
        first=0,
        previous_href=None,
        next_href=None,
        export_query="",
    )


@pytest.mark.parametrize(
    ("shown", "sentence"),
    [
        (grid(0), "There are currently no Agents connected."),
        (grid(1), "1 agent connected."),
        (grid(2), "2 agents connected."),
        (grid(10_000, exact=False), "More than 10,000 agents connected."),
        (grid(0, search="zed"), "No connected agent matches “zed”."),
        (grid(1, search="al"), "1 connected agent matches “al”."),
        (grid(3, search="a"), "3 connected agents match “a”."),
    ],
)
def test_the_sentence_counts_the_agents_with_the_right_plural(shown: Grid, sentence: str) -> None:
    assert connected(shown) == sentence
