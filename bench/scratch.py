"""What the benchmark scripts share: their options and a scratch database they drop."""

from __future__ import annotations

import argparse
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from booking_guard import migrations, reference_schema
from booking_guard.db import create_database, drop_database


def parser(doc: str) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(description=doc.splitlines()[0])
    options.add_argument("--calls", type=int, default=1_000_000)
    options.add_argument("--runs", type=int, default=3)
    options.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    return options


@contextmanager
def scratch_database(
    server: str, *, calls: int = 0, anchor: datetime | None = None
) -> Iterator[str]:
    """A new database with the app schema and every migration, seeded with ``calls`` calls.

    The seed runs in a child process, so this one stays small: the RSS a forked child inherits
    before exec then never counts as a measured child's.
    """
    url = f"{server}/bg_bench_{uuid.uuid4().hex[:8]}"
    create_database(url)
    try:
        reference_schema.install(url)
        migrations.upgrade(url)
        if calls:
            command = [sys.executable, "-m", "booking_guard", "--database-url", url, "seed"]
            command += ["--calls", str(calls)]
            if anchor is not None:
                command += ["--anchor", anchor.isoformat()]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        yield url
    finally:
        drop_database(url)
