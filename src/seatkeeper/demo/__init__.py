"""The demo: a demo account with 30 days of made-up history, served with simulated agents.

`history` makes the history up (pure functions), `account` provisions the account and
backfills it, `simulation` runs agents through the Python client, and `runner` is what
`seatkeeper demo` runs. Only the command line imports this package.
"""

DEFAULT_AGENTS = 12  # the live crowd: below the demo account's first alert level
