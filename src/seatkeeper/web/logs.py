"""The server's logging: one line format for seatkeeper's loggers and uvicorn's, tokens redacted.

The entry points (`seatkeeper serve`, `seatkeeper demo`) hand `log_config` to uvicorn,
which applies it before serving; the app itself configures no logging (see create_app).
"""

from __future__ import annotations

import logging
import re
from typing import Any

# One line per record, the same for every logger: when, how bad, who, what.
FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"
# A one-time link's token, should one ever be sent in an address (links put it in the
# fragment, which browsers keep to themselves; a link from before did not, or one mangled).
LINK_TOKEN = re.compile(r"sk_pw_[\w-]+")


class LinkTokensRedacted(logging.Filter):
    """Keeps one-time link tokens out of the server's log lines, the access log's included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                LINK_TOKEN.sub("sk_pw_[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = LINK_TOKEN.sub("sk_pw_[redacted]", record.msg)
        return True


def log_config(level: str = "info") -> dict[str, Any]:
    """A logging.dictConfig: every logger writes through one handler, in FORMAT, to stderr."""
    # uvicorn's loggers lose the handlers of its own config and write through the root's.
    through_root = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"links": {"()": f"{__name__}.LinkTokensRedacted"}},
        "formatters": {"line": {"format": FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "filters": ["links"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": dict.fromkeys(("uvicorn", "uvicorn.error", "uvicorn.access"), through_root),
    }
