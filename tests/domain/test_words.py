"""Words that agree with a count."""

from __future__ import annotations

import pytest

from seatkeeper.domain.words import plural


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "0 licenses"),
        (1, "1 license"),
        (2, "2 licenses"),
        (1234, "1,234 licenses"),
        (1.0, "1 license"),
        (0.5, "0.5 licenses"),
        (2.5, "2.5 licenses"),
    ],
)
def test_a_noun_agrees_with_its_count(count: float, expected: str) -> None:
    assert plural(count, "license") == expected


def test_an_irregular_plural_is_given() -> None:
    assert plural(1, "open was", "opens were") == "1 open was"
    assert plural(3, "open was", "opens were") == "3 opens were"
    assert plural(1, "Interaction") == "1 Interaction"
    assert plural(2, "person", "people") == "2 people"
