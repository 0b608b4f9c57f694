"""The SQL files as text: what the engine fills in must not hide in a comment."""

from __future__ import annotations

import re
from importlib import resources


def test_no_placeholder_in_a_comment() -> None:
    # psycopg's SQL.format fills every {name}, in comments too: a multi-line value placed in a
    # comment would comment out the rest of its first line and leave the others as code.
    root = resources.files("booking_guard.sql")
    offenders = []
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        for file in folder.iterdir():
            if not file.name.endswith(".sql"):
                continue
            for number, line in enumerate(file.read_text().splitlines(), 1):
                comment = line.partition("--")[2]
                if re.search(r"\{[a-z_]+\}", comment):
                    offenders.append(f"{folder.name}/{file.name}:{number}")
    assert offenders == []
