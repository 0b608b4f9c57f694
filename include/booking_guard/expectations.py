"""Validate a detection run with the GX suites in ``expectations/`` and build Data Docs.

The batch is the run's rows of ``bg_rule_findings`` (a query asset on the monitored PostgreSQL
database), so GX's two queries per ``UnexpectedRowsExpectation`` (a count and a fetch of up to 200
rows) read the findings table through its index, not the app tables. Validation results older than
the last ``keep_results`` runs are pruned before the Data Docs index is rebuilt, so neither the
build nor the site grows with the 288 runs a day.

``great_expectations`` is imported inside the functions: importing it costs about 3 s.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import yaml

from booking_guard.db import sqlalchemy_url
from booking_guard.rules import DetectionRun

GX_PROJECT_DIR = Path(__file__).resolve().parents[2] / "expectations"
SUITE_FILES = ("booking_guard_consistency.json",)
DEFAULT_KEEP_RESULTS = 48


@dataclass
class RuleResult:
    rule_id: str
    success: bool
    unexpected: int
    severity: str


@dataclass
class ValidationSummary:
    success: bool
    results: list[RuleResult]
    data_docs_index: Path | None


def prewarm() -> threading.Thread:
    """Import Great Expectations in the background (about 3 s of CPU), so that the import
    overlaps with the rules' SQL, which waits on the database."""
    thread = threading.Thread(target=importlib.import_module, args=("great_expectations",))
    thread.start()
    return thread


def runtime_dir() -> Path:
    """Where results and Data Docs are written (``BOOKING_GUARD_GX_DIR``)."""
    default = GX_PROJECT_DIR.parent / "var" / "gx"
    return Path(os.environ.get("BOOKING_GUARD_GX_DIR", default)).resolve()


def _project_config(runtime: Path) -> dict[str, Any]:
    text = (GX_PROJECT_DIR / "great_expectations.yml").read_text(encoding="utf-8")
    return yaml.safe_load(Template(text).substitute(RUNTIME_DIR=runtime))


def load_suite_definitions() -> list[dict[str, Any]]:
    """The suites as committed (JSON, one file per suite)."""
    return [
        json.loads((GX_PROJECT_DIR / "suites" / name).read_text(encoding="utf-8"))
        for name in SUITE_FILES
    ]


def validate(
    url: str,
    run: DetectionRun,
    *,
    build_docs: bool = True,
    keep_results: int = DEFAULT_KEEP_RESULTS,
) -> ValidationSummary:
    """Run the suites against the findings of ``run``; expectations of rules that did not run
    (full-scan-only rules in an incremental run) are left out rather than reported as passing."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    runtime = runtime_dir()
    runtime.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="ephemeral", project_config=_project_config(runtime))
    source = context.data_sources.add_postgres(
        "booking_guard", connection_string=sqlalchemy_url(url)
    )
    asset = source.add_query_asset(
        "rule_findings", query=f"SELECT * FROM bg_rule_findings WHERE run_id = {int(run.run_id)}"
    )
    batch = asset.add_batch_definition_whole_table(f"{run.mode}_run")

    definitions = []
    for raw in load_suite_definitions():
        raw = dict(raw)
        raw["expectations"] = [
            e for e in raw["expectations"] if e.get("meta", {}).get("rule_id") in run.counts
        ]
        suite = context.suites.add(gx.ExpectationSuite(**raw))
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
            )
        )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="booking_guard_consistency",
            validation_definitions=definitions,
            actions=[UpdateDataDocsAction(name="data_docs")] if build_docs else [],
            result_format={"result_format": "BASIC"},
        )
    )
    if build_docs:
        prune_results(runtime, keep_results - 1)
    outcome = checkpoint.run(run_id=gx.RunIdentifier(run_name=f"{run.mode}-{run.run_id}"))

    results = [
        RuleResult(
            rule_id=r.expectation_config.meta["rule_id"],
            success=bool(r.success),
            unexpected=int(r.result.get("observed_value") or 0),
            severity=str(r.expectation_config.severity.value),
        )
        for validation in outcome.run_results.values()
        for r in validation.results
    ]
    index = runtime / "data_docs" / "index.html"
    return ValidationSummary(
        success=bool(outcome.success),
        results=results,
        data_docs_index=index if build_docs and index.exists() else None,
    )


def prune_results(runtime: Path, keep: int) -> int:
    """Delete all but the newest ``keep`` validation runs, with their Data Docs pages."""
    stores = [runtime / "validations", runtime / "data_docs" / "validations"]
    runs: dict[str, list[Path]] = {}
    for store in stores:
        if not store.exists():
            continue
        # <store>/<suite>/<run_name>/<run_time>/<batch>.json|html
        for run_dir in store.glob("*/*/*"):
            runs.setdefault(run_dir.name, []).append(run_dir)
    stale = sorted(runs)[: max(0, len(runs) - keep)]
    for run_time in stale:
        for run_dir in runs[run_time]:
            shutil.rmtree(run_dir, ignore_errors=True)
            if not any(run_dir.parent.iterdir()):
                run_dir.parent.rmdir()
    return len(stale)
