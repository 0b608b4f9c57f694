"""The main job on a fresh machine: a demo database, end to end, in one idempotent call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from booking_guard import migrations, reference_schema
from booking_guard.db import create_database
from booking_guard.seed import SeedSpec, SeedSummary, seed


@dataclass
class DemoResult:
    database_created: bool
    migrations_applied: list[str]
    seed: SeedSummary


def run_demo(url: str, spec: SeedSpec, truth_path: Path | None = None) -> DemoResult:
    """Create the database if needed, install the app schema, migrate, and seed fresh data."""
    created = create_database(url)
    reference_schema.install(url)
    applied = migrations.upgrade(url)
    summary = seed(url, spec, truth_path)
    return DemoResult(database_created=created, migrations_applied=applied, seed=summary)
