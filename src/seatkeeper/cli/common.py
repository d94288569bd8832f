"""What every command shares: settings, the database, checked parameters, clear refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from seatkeeper.clock import SystemClock
from seatkeeper.config import Settings
from seatkeeper.domain import validation
from seatkeeper.domain.errors import DomainError
from seatkeeper.domain.model import Role
from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import StaleSchema, ensure_current

clock = SystemClock()


class Checked(click.ParamType[Any, Any]):
    """A parameter checked by one of the domain's validation rules."""

    def __init__(self, name: str, convert: Callable[[Any], Any]) -> None:
        self.name = name
        self._convert = convert

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self._convert(value)
        except DomainError as exc:
            self.fail(exc.message, param, ctx)
        except ValueError:
            self.fail(f"{value!r} is not a whole number.", param, ctx)


TIME_ZONE = Checked("time zone", lambda v: validation.time_zone(v).key)
LICENSES = Checked("count", lambda v: validation.licenses(int(v)))
TIMEOUT = Checked("minutes", lambda v: validation.session_timeout(timedelta(minutes=int(v))))
SLUG = Checked("slug", validation.slug)
ROLE = click.Choice([r.value for r in Role])


class Context:
    """What every command needs: settings (options override the environment)."""

    def __init__(self, database_url: str | None) -> None:
        overrides = {"database_url": database_url} if database_url else {}
        self.settings = Settings(**overrides)  # type: ignore[arg-type]

    def database(self) -> Database:
        """The database, refusing one whose schema is not current."""
        db = Database(self.settings.database_url)
        try:
            ensure_current(db.engine)
        except StaleSchema as exc:
            db.dispose()
            raise click.ClickException(str(exc)) from exc
        return db


pass_context = click.make_pass_decorator(Context)


class Commands(click.Group):
    """Turns any refusal from the services into a clear message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"SEATKEEPER_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                for e in exc.errors()
            )
            raise click.UsageError(f"Invalid setting: {problems}.") from exc
        except (OperationalError, ArgumentError, NoSuchModuleError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise click.ClickException(f"seatkeeper cannot use the database: {reason}") from exc


@contextmanager
def opened(context: Context | Callable[[], Database]) -> Iterator[Database]:
    """The database for one command, disposed of afterwards."""
    database = context.database() if isinstance(context, Context) else context()
    try:
        yield database
    finally:
        database.dispose()
