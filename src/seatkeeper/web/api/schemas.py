"""Shapes both sides of the API share."""

from __future__ import annotations

from typing import Annotated

import msgspec

from seatkeeper.domain.model import Flow

# Printable text: not blank, no control characters (PostgreSQL refuses NUL in text).
PRINTABLE = r"^(?=.*\S)[^\x00-\x1f\x7f-\x9f]*$"  # validation.is_printable
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=PRINTABLE)]


class FlowBody(msgspec.Struct):
    """A Flow: its name and its ordered step titles."""

    name: Name
    steps: Annotated[list[Name], msgspec.Meta(min_length=1, max_length=50)]

    @classmethod
    def of(cls, flow: Flow) -> FlowBody:
        return cls(flow.name, list(flow.steps))


class Flows(msgspec.Struct):
    flows: list[FlowBody]
