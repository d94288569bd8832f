"""The two storage backends: a SQLite file per benchmark, or a PostgreSQL database we own."""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "seatkeeper_bench"
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Backend:
    """Where a benchmark's database lives; `fresh()` gives it an empty one."""

    name: str  # sqlite | postgresql
    version: str
    workdir: Path
    server_url: str | None = None  # PostgreSQL: the maintenance database we connect to
    database: str = BENCH_DATABASE  # PostgreSQL: the one we drop and make for each benchmark

    @property
    def label(self) -> str:
        return LABELS[self.name]

    def fresh(self, purpose: str) -> str:
        """The URL of a new, empty database for one benchmark (the previous one is dropped)."""
        if self.server_url is None:
            path = self.workdir / f"{purpose}.db"
            for stale in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
                stale.unlink(missing_ok=True)
            return f"sqlite:///{path}"
        self._admin(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.database}")
        url = make_url(self.server_url).set(database=self.database)
        return url.render_as_string(hide_password=False)

    def clean_up(self) -> None:
        """Drop what `fresh()` made on the server (files go with the work folder)."""
        if self.server_url is not None:
            self._admin(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")

    def _admin(self, statement: str) -> None:
        assert self.server_url is not None
        engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()


def sqlite_backend(workdir: Path) -> Backend:
    return Backend("sqlite", sqlite3.sqlite_version, workdir)


def postgres_url() -> str:
    return os.environ.get("SEATKEEPER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_backend(workdir: Path) -> Backend | str:
    """The PostgreSQL backend, or why it cannot be used."""
    url = postgres_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                version = str(conn.execute(text("SHOW server_version")).scalar_one())
        finally:
            engine.dispose()
    except Exception as exc:  # any failure to connect means: not available
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"PostgreSQL at {make_url(url).render_as_string()} did not answer: {reason}"
    database = os.environ.get("SEATKEEPER_BENCH_DATABASE", BENCH_DATABASE)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        return f"SEATKEEPER_BENCH_DATABASE must be a plain lower-case name, not {database!r}"
    return Backend(
        "postgresql", version.split(maxsplit=1)[0], workdir, server_url=url, database=database
    )
