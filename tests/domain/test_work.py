"""The rules of what an agent works in: offered Flows, their steps, and the open limit."""

from __future__ import annotations

import pytest

from seatkeeper.domain import work
from seatkeeper.domain.errors import TooManyInteractions, UnknownFlow, UnknownStep
from seatkeeper.domain.model import Flow

OFFERED = [Flow("New Order", ("Pick", "Pay")), Flow("Refund", ("Verify", "Refund"))]


def test_an_offered_flow_opens_below_the_limit() -> None:
    assert work.flow_to_open("Refund", OFFERED, open_now=2, limit=3) == OFFERED[1]


def test_the_limit_comes_first() -> None:
    with pytest.raises(TooManyInteractions):
        work.flow_to_open("Refund", OFFERED, open_now=3, limit=3)


def test_an_unknown_flow_is_refused_naming_those_offered() -> None:
    with pytest.raises(UnknownFlow, match="it offers 'New Order', 'Refund'"):
        work.flow_to_open("refund", OFFERED, open_now=0, limit=3)
    with pytest.raises(UnknownFlow, match="it has no Flows yet"):
        work.flow_to_open("Refund", [], open_now=0, limit=3)


def test_a_long_list_of_flows_is_cut_short() -> None:
    many = [Flow(f"Flow {n:03}", ("One",)) for n in range(45)]
    with pytest.raises(UnknownFlow) as refused:
        work.flow_to_open("Other", many, open_now=0, limit=3)
    assert "'Flow 019' and 25 more" in refused.value.message
    assert "Flow 020" not in refused.value.message


def test_a_step_is_one_of_the_flows_steps() -> None:
    assert work.step_of(OFFERED[0], "Pay") == "Pay"
    with pytest.raises(UnknownStep, match="its steps are 'Pick', 'Pay'"):
        work.step_of(OFFERED[0], "pay")
