"""Versioned prevention migrations (Alembic): up, down, status and SQL preview.

The migration bodies are the SQL files under ``sql/migrations``; these functions are what the CLI
and the deploy DAG call. A deploy is one transaction under an advisory lock, so it is applied
whole or not at all and two deploys never interleave.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import psycopg
import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from booking_guard.db import first_line, redacted, sqlalchemy_url
from booking_guard.errors import BookingGuardError, MigrationError
from booking_guard.resources import load_sql

VERSION_TABLE = "booking_guard_alembic_version"
LOCK_KEY = 7_426_209_147_501_937  # arbitrary, constant: "booking-guard migrations"
LOCK_TIMEOUT = "60s"
HERE = Path(__file__).resolve().parent


@dataclass
class MigrationStatus:
    current: str | None
    head: str
    pending: list[tuple[str, str]] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.pending


def run_sql_file(relative_path: str) -> None:
    """Run one SQL file verbatim inside the migration's transaction (or print it with --sql).

    The file goes to the driver untouched: no bind-parameter parsing of ``:`` or ``%``.
    """
    statement = load_sql(relative_path)
    migration = context.get_context()
    if migration.as_sql:
        migration.impl.static_output(statement)
    else:
        driver = migration.connection.connection.driver_connection if migration.connection else None
        if driver is None:
            raise MigrationError("a migration ran without a database connection")
        driver.execute(statement)


def _config(url: str, out: TextIO) -> Config:
    config = Config(output_buffer=out)
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config("postgresql://x/x", io.StringIO()))


def _resolve(target: str) -> str:
    """The revision a user-given target names; 'head' and 'base' are always known."""
    if target in ("head", "base"):
        return target
    if not target.strip():
        raise MigrationError("the migration target is empty (a revision, head or base)")
    try:
        revision = _script().get_revision(target)
    except CommandError:
        revision = None
    if revision is None:
        known = ", ".join(["base", "head", *(r.revision for r in _script().walk_revisions())])
        raise MigrationError(f"unknown migration target {target!r} (known: {known})")
    return revision.revision


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(
        sqlalchemy_url(url), poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 5}
    )


def _current(url: str) -> str | None:
    with _engine(url).connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def _run(url: str, action: str, target: str, *, sql: bool, out: TextIO | None) -> list[str]:
    config = _config(url, out or sys.stdout)
    applied: list[str] = []
    config.attributes["drop_version_table"] = action == "downgrade" and target == "base"
    config.attributes["on_version_apply"] = lambda step, **_: applied.append(
        f"{'up' if step.is_upgrade else 'down'} {step.up_revision_id}: {step.up_revision.doc}"
    )
    run = command.upgrade if action == "upgrade" else command.downgrade
    try:
        if sql:
            current = _current(url) or "base"
            run(config, f"{current}:{target}", sql=True)
        else:
            with _engine(url).connect() as conn:
                config.attributes["connection"] = conn
                run(config, target)
                conn.commit()
    except (sa.exc.DBAPIError, psycopg.Error) as exc:
        raise MigrationError(_db_message(url, exc)) from None
    except CommandError as exc:
        raise MigrationError(str(exc)) from None
    return applied


def _db_message(url: str, exc: sa.exc.DBAPIError | psycopg.Error) -> str:
    """One line for the user: the lock, the connection, or the server's message and hint."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == "55P03":
        return "another booking-guard migration holds the lock; try again when it has finished"
    if sqlstate is None and isinstance(orig, psycopg.OperationalError):
        return f"cannot connect to {redacted(url)}: {first_line(orig)}"
    diag = getattr(orig, "diag", None)
    hint = diag.message_hint if diag is not None else None
    return f"{first_line(orig)} ({hint})" if hint else first_line(orig)


def upgrade(
    url: str, target: str = "head", *, sql: bool = False, out: TextIO | None = None
) -> list[str]:
    """Apply migrations up to ``target``; returns the steps applied (empty when up to date)."""
    revision = _resolve(target)
    if revision not in ("head", "base"):
        current = _current_or_error(url)
        if current is not None and current != revision and _is_below(revision, current):
            raise MigrationError(
                f"the database is at {current}, above {revision}: to go down, use --down {revision}"
            )
    return _run(url, "upgrade", revision, sql=sql, out=out)


def _is_below(revision: str, current: str) -> bool:
    return revision in {r.revision for r in _script().iterate_revisions(current, "base")}


def _current_or_error(url: str) -> str | None:
    try:
        return _current(url)
    except (sa.exc.DBAPIError, psycopg.Error) as exc:
        raise MigrationError(_db_message(url, exc)) from None


def downgrade(url: str, target: str, *, sql: bool = False, out: TextIO | None = None) -> list[str]:
    """Revert to ``target``; ``base`` removes everything the prevention system created."""
    return _run(url, "downgrade", _resolve(target), sql=sql, out=out)


def status(url: str) -> MigrationStatus:
    """Where the database stands against the migrations this code ships."""
    script = _script()
    try:
        current = _current(url)
    except (sa.exc.DBAPIError, psycopg.Error) as exc:
        raise BookingGuardError(_db_message(url, exc)) from None
    pending = [
        (rev.revision, rev.doc)
        for rev in reversed(list(script.iterate_revisions("head", current or "base")))
        if rev.revision != current
    ]
    head = script.get_current_head()
    if head is None:
        raise MigrationError("the migrations this code ships have no single head")
    return MigrationStatus(current=current, head=head, pending=pending)


def deploy(url: str, target: str = "head", *, pretend: bool = False) -> str:
    """Bring the database to ``target``, up or down; with ``pretend``, only return the SQL.

    What the deploy DAG runs: a report of the steps applied, or the script that would run.
    """
    revision = _resolve(target)
    current = _current_or_error(url)
    down = revision == "base" or (
        current is not None and revision not in ("head", current) and _is_below(revision, current)
    )
    out = io.StringIO()
    steps = (downgrade if down else upgrade)(url, revision, sql=pretend, out=out)
    if pretend:
        return out.getvalue()
    return "\n".join(steps) or f"nothing to do: already at {target}"
