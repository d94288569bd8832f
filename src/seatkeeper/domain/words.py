"""English words that agree with a count: 1 license, 2 licenses."""

from __future__ import annotations


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """`count` and the word that agrees with it: 1 license, 1,234 licenses, 0.5 minutes.

    The plural is the singular and an s unless `plural_form` gives it (1 open was, 2 opens
    were). Whole counts get thousands separators.
    """
    shown = f"{count:,.0f}" if float(count).is_integer() else f"{count:g}"
    return f"{shown} {singular if count == 1 else plural_form or singular + 's'}"
