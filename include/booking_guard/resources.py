"""The files shipped inside the package: SQL (``sql/`` of the repository) and its lookups.

Importing this module costs nothing (no database driver), so a DAG file may read the rule
registry at parse time.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from booking_guard.errors import BookingGuardError

# The repository's sql/ folder, shipped inside the package (pyproject.toml maps it).
SQL_PACKAGE = "booking_guard.sql"


@cache
def load_sql(relative_path: str) -> str:
    """The text of a file under ``sql/``: queries live in .sql files, not in Python strings."""
    try:
        return resources.files(SQL_PACKAGE).joinpath(relative_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BookingGuardError(f"SQL file not found: sql/{relative_path}") from None


def sql_files(folder: str) -> list[str]:
    """The names of the files in a folder of ``sql/``."""
    return sorted(f.name for f in resources.files(SQL_PACKAGE).joinpath(folder).iterdir())
