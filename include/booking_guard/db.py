"""Connections to the monitored PostgreSQL database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from booking_guard.errors import BookingGuardError

CONNECT_TIMEOUT_SECONDS = 5


def libpq_url(url: str) -> str:
    """The URL libpq understands: ``postgresql+psycopg://`` loses its driver suffix."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy needs to use psycopg 3 rather than psycopg2."""
    parts = urlsplit(libpq_url(url))
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def redacted(url: str) -> str:
    """The URL with its password masked, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """Open a connection, turning libpq's multi-line failure into one clear line."""
    try:
        return psycopg.connect(
            libpq_url(url), autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_SECONDS
        )
    except psycopg.OperationalError as exc:
        raise BookingGuardError(f"cannot connect to {redacted(url)}: {first_line(exc)}") from None
    except psycopg.ProgrammingError as exc:
        raise BookingGuardError(
            f"invalid database URL {redacted(url)}: {first_line(exc)}"
        ) from None


def first_line(exc: BaseException) -> str:
    """The informative line of a database error (libpq puts the cause last on its first line)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(" failed: ")[-1]


def _maintenance_url(url: str) -> str:
    parts = urlsplit(libpq_url(url))
    return urlunsplit(parts._replace(path="/postgres"))


def create_database(url: str) -> bool:
    """Create the database the URL names unless it exists; True when it was created."""
    name = database_name(url)
    with connect(_maintenance_url(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    """Drop the database the URL names, disconnecting its sessions first."""
    with connect(_maintenance_url(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database_name(url))
            )
        )


def scalar(conn: psycopg.Connection, query: str, params: Mapping[str, object] | None = None) -> Any:
    """The first column of the first row, for queries that always return one row."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise BookingGuardError(f"query returned no row: {query.splitlines()[0]}")
    return row[0]
