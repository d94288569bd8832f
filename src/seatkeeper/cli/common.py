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
OVERDRAFT = Checked("count", lambda v: validation.overdraft(int(v)))
TIMEOUT = Checked("minutes", lambda v: validation.session_timeout(timedelta(minutes=int(v))))
SLUG = Checked("slug", validation.slug)
DATABASE_URL = Checked("URL", lambda v: validation.text("A database URL", v, 4096))
ROLE = click.Choice([r.value for r in Role])


class Context:
    """What every command needs: settings (options override the environment)."""

    def __init__(self, database_url: str | None) -> None:
        self.use_database(database_url)

    def use_database(self, database_url: str | None) -> None:
        """Settings with this database URL (or the environment's when None)."""
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


def _database_url_after(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    """A --database-url given after a subcommand wins over one given before it."""
    if value is None:
        return
    # click parses a subcommand's options after its parents' callbacks ran: the root's
    # Context is ctx.obj, and the root's params are where commands read the URL given (the
    # demo does).
    ctx.find_root().params["database_url"] = value
    ctx.obj.use_database(value)


def database_url_option(*, after_subcommand: bool) -> Callable[[Any], Any]:
    """The --database-url option: the root's passes it on, a subcommand's overrides it."""
    return click.option(
        "--database-url",
        type=DATABASE_URL,
        metavar="URL",
        help="Database URL (default: $SEATKEEPER_DATABASE_URL, else sqlite:///seatkeeper.db).",
        expose_value=not after_subcommand,
        callback=_database_url_after if after_subcommand else None,
    )


version_option = click.version_option(package_name="seatkeeper")


def share_global_options(command: click.Command) -> None:
    """Accept the global options after this command too, and after every command under it."""
    database_url_option(after_subcommand=True)(command)
    version_option(command)
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            share_global_options(subcommand)


class Commands(click.Group):
    """The root group: its options are accepted after any subcommand too, and any refusal
    from the services becomes a clear message and exit status 1."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Add a command, giving it (and every command under it) the global options."""
        share_global_options(cmd)
        super().add_command(cmd, name)

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
