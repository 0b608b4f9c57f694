"""Validate a detection run with the GX suite generated from the rule registry; Data Docs.

The batch is the run's rows of ``bg_rule_findings`` (a query asset on the monitored PostgreSQL
database), so GX's two queries per ``UnexpectedRowsExpectation`` (a count and a fetch of up to 200
rows) read the findings table through its index, not the app tables. Validation results older than
the last ``keep_results`` runs are pruned before the Data Docs index is rebuilt, so neither the
build nor the site grows with the 288 runs a day.

The suite is written to the runtime project's expectation store on every run, so Data Docs show
it as it was validated; nothing hand-kept can disagree with ``sql/rules/rules.yml``.

``great_expectations`` is imported inside the functions: importing it costs about 3 s.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import threading
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Any

import yaml

from booking_guard import detection
from booking_guard.db import connect, scalar, sqlalchemy_url
from booking_guard.detection import DetectionRun
from booking_guard.resources import load_sql
from booking_guard.rules import Rule

# The repository's expectations/ folder, shipped inside the package (pyproject.toml maps it).
GX_PROJECT_PACKAGE = "booking_guard.gx_project"
SUITE_NAME = "booking_guard_consistency"
DEFAULT_KEEP_RESULTS = 48


SAMPLE_ENTITIES = 10
LAST_VALIDATION_FILE = "last_validation.json"


@dataclass
class RuleResult:
    rule_id: str
    success: bool
    findings: int
    companies: int
    severity: str


@dataclass
class ValidationSummary:
    success: bool
    results: list[RuleResult]
    data_docs_index: Path | None
    # Set when the run's findings equal those of an already validated run, which stands for it.
    unchanged_since: int | None = None


def _quiet() -> None:
    """GX logs its internal registrations at INFO: hundreds of lines that drown ours."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def prewarm() -> threading.Thread:
    """Import Great Expectations in the background (about 3 s of CPU), so that the import
    overlaps with the rules' SQL, which waits on the database."""
    _quiet()
    thread = threading.Thread(target=importlib.import_module, args=("great_expectations",))
    thread.start()
    return thread


def runtime_dir() -> Path:
    """Where results and Data Docs are written (``BOOKING_GUARD_GX_DIR``, default ``var/gx``)."""
    return Path(os.environ.get("BOOKING_GUARD_GX_DIR", "var/gx")).resolve()


def _project_config(runtime: Path) -> dict[str, Any]:
    config = resources.files(GX_PROJECT_PACKAGE).joinpath("great_expectations.yml")
    text = config.read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(Template(text).substitute(RUNTIME_DIR=runtime))
    return loaded


def expectation(rule: Rule, findings: int = 0, sample: list[str] | None = None) -> dict[str, Any]:
    """The rule's expectation over a run's findings: no finding of this rule is expected.

    One unexpected row per affected company (its findings and first entity ids), so GX holds a
    handful of rows whatever the number of findings; the run's total and its first entities
    are in the notes that Data Docs show beside the result.
    """
    notes = [f"**{findings:,} finding{'s' if findings != 1 else ''}** in this run."]
    if sample:
        more = ", …" if findings > len(sample) else ""
        notes.append(f"First entities: {', '.join(sample)}{more}")
    return {
        "type": "unexpected_rows_expectation",
        "kwargs": {
            # GX takes a literal query (no bind parameters); a rule id is [a-z0-9_] (rules.py).
            "unexpected_rows_query": (
                "SELECT company_id, count(*) AS findings,"  # noqa: S608
                " (array_agg(entity_type || ' ' || entity_id ORDER BY entity_id))"
                f"[1:{SAMPLE_ENTITIES}] AS first_entities"
                f" FROM {{batch}} WHERE rule_id = '{rule.id}' GROUP BY company_id"
            )
        },
        "meta": {"rule_id": rule.id},
        "notes": notes,
        "description": (
            f"{rule.description} (rule {rule.id}, {rule.severity}; one unexpected row per"
            " affected company)"
        ),
        "severity": str(rule.severity),
    }


def suite_definition(
    rules: list[Rule],
    counts: dict[str, int] | None = None,
    samples: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The suite, generated from the rule registry: one expectation per rule that ran."""
    counts, samples = counts or {}, samples or {}
    return {
        "name": SUITE_NAME,
        "expectations": [
            expectation(rule, counts.get(rule.id, 0), samples.get(rule.id)) for rule in rules
        ],
    }


def _digest(url: str, run: DetectionRun) -> str:
    with connect(url) as conn:
        found = scalar(conn, load_sql("runs/findings_digest.sql"), {"run_id": run.run_id})
    return f"{','.join(sorted(run.counts))}|{found}"


def _unchanged(runtime: Path, digest: str) -> ValidationSummary | None:
    """The last validation, when it validated exactly these findings."""
    try:
        last = json.loads((runtime / LAST_VALIDATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if last.get("digest") != digest:
        return None
    index = runtime / "data_docs" / "index.html"
    return ValidationSummary(
        success=bool(last["success"]),
        results=[],
        data_docs_index=index if index.exists() else None,
        unchanged_since=int(last["run_id"]),
    )


def validate(
    url: str,
    run: DetectionRun,
    *,
    build_docs: bool = True,
    keep_results: int = DEFAULT_KEEP_RESULTS,
) -> ValidationSummary:
    """Run the suite against the findings of ``run``; expectations of rules that did not run
    (full-scan-only rules in an incremental run) are left out rather than reported as passing.

    When the findings equal those of the last validated run, nothing is validated (GX is not
    even imported): that run's results and Data Docs stand, recorded as ``unchanged_since``.
    """
    runtime = runtime_dir()
    runtime.mkdir(parents=True, exist_ok=True)
    digest = _digest(url, run)
    if build_docs and (unchanged := _unchanged(runtime, digest)) is not None:
        return unchanged
    _quiet()
    import great_expectations as gx
    from great_expectations.checkpoint.actions import UpdateDataDocsAction

    context = gx.get_context(mode="ephemeral", project_config=_project_config(runtime))
    source = context.data_sources.add_postgres(
        "booking_guard", connection_string=sqlalchemy_url(url)
    )
    # A literal query again, with an integer run id.
    findings = f"SELECT * FROM bg_rule_findings WHERE run_id = {int(run.run_id)}"  # noqa: S608
    asset = source.add_query_asset("rule_findings", query=findings)
    batch = asset.add_batch_definition_whole_table(f"{run.mode}_run")

    samples = detection.labelled_samples(url, run.run_id, SAMPLE_ENTITIES)
    definition = suite_definition(run.rules, run.counts, samples)
    suite = context.suites.add_or_update(gx.ExpectationSuite(**definition))
    definitions = [
        context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
        )
    ]
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
    if build_docs:
        offline_data_docs(runtime / "data_docs")

    results = [
        RuleResult(
            rule_id=config.meta["rule_id"],
            success=bool(r.success),
            findings=run.counts[config.meta["rule_id"]],
            companies=int(r.result.get("observed_value") or 0),
            severity=str(config.severity.value),
        )
        for validation in outcome.run_results.values()
        for r in validation.results
        if (config := r.expectation_config) is not None
    ]
    index = runtime / "data_docs" / "index.html"
    if build_docs:
        last = {"digest": digest, "run_id": run.run_id, "success": bool(outcome.success)}
        (runtime / LAST_VALIDATION_FILE).write_text(json.dumps(last), encoding="utf-8")
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


# Data Docs without internet: GX's pages load their styles, scripts and fonts from CDNs and the
# navbar logo from S3. The vendored copies (expectations/data_docs_assets, pinned versions and
# licences in its assets.yml) go to <site>/vendor and every page is pointed at them, relative to
# itself, so the site works from file://, behind the Airflow plugin, and on a closed network.
DATA_DOCS_ASSETS = "data_docs_assets"
_SUBRESOURCE_INTEGRITY = re.compile(r'\s+integrity="[^"]*"\s+crossorigin="anonymous"')
# The only images GX takes from S3 are its logos (logo-long.png, and full_logo_dark.png for dark
# mode); the site ships logo-long.png in static/images.
_S3_LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.[\w.-]+/[\w.-]+(?:\?[^\"')]*)?")


def offline_data_docs(site: Path) -> int:
    """Copy the vendored assets into ``site`` and rewrite the pages that still point at a CDN;
    the number of pages rewritten (pages done before are left alone)."""
    assets = resources.files(GX_PROJECT_PACKAGE).joinpath(DATA_DOCS_ASSETS)
    manifest = yaml.safe_load(assets.joinpath("assets.yml").read_text(encoding="utf-8"))
    _copy_tree(assets, site / "vendor")
    rewritten = 0
    for page in site.rglob("*.html"):
        prefix = Path(os.path.relpath(site, page.parent)).as_posix() + "/"
        text = original = page.read_text(encoding="utf-8")
        for asset in manifest:
            text = text.replace(f'"{asset["cdn"]}"', f'"{prefix}vendor/{asset["file"]}"')
        text = _SUBRESOURCE_INTEGRITY.sub("", text)
        text = _S3_LOGO.sub(f"{prefix}static/images/logo-long.png", text)
        if text != original:
            page.write_text(text, encoding="utf-8")
            rewritten += 1
    return rewritten


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_dir():
            _copy_tree(item, target / item.name)
        elif item.name != "assets.yml":
            data = item.read_bytes()
            dest = target / item.name
            if not dest.exists() or dest.stat().st_size != len(data):
                dest.write_bytes(data)
