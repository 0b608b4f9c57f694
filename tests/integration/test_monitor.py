"""Alerts, Great Expectations validation and the check command on a seeded database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from booking_guard import alerts, detection, expectations, rules
from booking_guard.monitor import run_check
from booking_guard.seed import Truth
from booking_guard.settings import Settings
from tests.helpers import cli, plant, query


def open_alerts(url: str) -> set[Truth]:
    rows = query(
        url,
        "SELECT alert_type, entity_type, entity_id, column_name FROM data_consistency_alerts"
        " WHERE resolved_at IS NULL",
    )
    return {Truth(*row) for row in rows}


def test_alerts_match_the_truth_and_are_deduplicated(seeded) -> None:
    url, truth = seeded
    first = alerts.record(url, detection.detect(url, full=True))
    assert first.opened == len(truth) and first.seen_again == 0
    assert open_alerts(url) == truth
    ((severity_ok,),) = query(
        url,
        "SELECT bool_and(a.severity = CASE a.alert_type"
        " WHEN 'booking_failure' THEN 'info'"
        " WHEN 'missing_direction' THEN 'warning' WHEN 'orphaned_appointment' THEN 'warning'"
        " WHEN 'inconsistent_link_status' THEN 'warning'"
        " WHEN 'link_backref_mismatch' THEN 'warning'"
        " WHEN 'invalid_value' THEN 'warning' ELSE 'critical' END"
        " AND a.company_id IS NOT NULL AND NOT a.auto_corrected)"
        " FROM data_consistency_alerts a",
    )
    assert severity_ok

    second = alerts.record(url, detection.detect(url, full=True))
    assert (second.opened, second.seen_again, second.resolved) == (0, len(truth), 0)
    assert query(url, "SELECT count(*) FROM data_consistency_alerts") == [(len(truth),)]
    ((moved,),) = query(
        url, "SELECT count(*) FROM data_consistency_alerts WHERE last_seen_at > detected_at"
    )
    assert moved == len(truth)


def test_a_full_scan_resolves_what_it_no_longer_finds(seeded) -> None:
    url, truth = seeded
    alerts.record(url, detection.detect(url, full=True))
    fixed = sorted(t.entity_id for t in truth if t.rule == "missing_direction")[:3]
    query(
        url,
        "UPDATE calls SET direction = 'inbound', updated_at = now() WHERE id = ANY(%s)",
        (fixed,),
    )

    incremental = alerts.record(url, detection.detect(url, since=query(url, "SELECT now()")[0][0]))
    assert incremental.resolved == 0  # the fix is before this window: left to the full scan

    changes = alerts.record(url, detection.detect(url, full=True))
    assert changes.resolved == 3 and changes.opened == 0
    resolved = {Truth("missing_direction", "call", i) for i in fixed}
    assert open_alerts(url) == truth - resolved

    # The problem comes back: a new alert opens beside the resolved one.
    plant(url, "UPDATE calls SET direction = NULL WHERE id = %s", (fixed[0],))
    assert alerts.record(url, detection.detect(url, full=True)).opened == 1
    assert query(
        url,
        "SELECT count(*), count(resolved_at) FROM data_consistency_alerts"
        " WHERE alert_type = 'missing_direction' AND entity_id = %s",
        (fixed[0],),
    ) == [(2, 1)]


def test_an_incremental_run_resolves_the_fixed_rows_of_its_window_only(seeded) -> None:
    url, truth = seeded
    alerts.record(url, detection.detect(url, full=True))
    ((before_fix,),) = query(url, "SELECT now()")
    missing = sorted(t.entity_id for t in truth if t.rule == "missing_direction")
    fixed, untouched = missing[:2], missing[2:]
    query(
        url,
        "UPDATE calls SET direction = 'inbound', updated_at = now() WHERE id = ANY(%s)",
        (fixed,),
    )
    # Another row in the window that still violates its rule: seen again, not resolved.
    query(url, "UPDATE calls SET updated_at = now() WHERE id = %s", (untouched[0],))

    changes = alerts.record(url, detection.detect(url, since=before_fix))
    assert changes.resolved == 2 and changes.opened == 0 and changes.seen_again == 1
    assert open_alerts(url) == truth - {Truth("missing_direction", "call", i) for i in fixed}


def test_gx_validates_the_run_and_builds_data_docs(seeded, tmp_path: Path) -> None:
    url, truth = seeded
    run = detection.detect(url, full=True)
    result = expectations.validate(url, run, keep_results=3)
    assert not result.success
    by_rule = {r.rule_id: r for r in result.results}
    assert set(by_rule) == {r.id for r in rules.RULES}
    companies = {
        r: n
        for r, n in query(
            url, "SELECT rule_id, count(DISTINCT company_id) FROM bg_rule_findings GROUP BY 1"
        )
    }
    for rule in rules.RULES:
        assert by_rule[rule.id].findings == sum(t.rule == rule.id for t in truth)
        assert by_rule[rule.id].companies == companies.get(rule.id, 0)  # one row per company
        assert by_rule[rule.id].severity == rule.severity
    assert result.data_docs_index is not None and result.data_docs_index.exists()
    # Data Docs answer "which rows": the first entities of each rule, with their company.
    ((first_call, company),) = query(
        url,
        "SELECT entity_id, company_id FROM bg_rule_findings WHERE rule_id = 'missing_direction'"
        " ORDER BY entity_id LIMIT 1",
    )
    site = "".join(p.read_text() for p in result.data_docs_index.parent.rglob("*.html"))
    assert f"call {first_call} (company {company})" in site

    # The same findings again: nothing is validated, the last validation stands.
    again = expectations.validate(url, detection.detect(url, full=True), keep_results=3)
    assert again.unchanged_since == run.run_id and again.results == []

    # Incremental: full-scan-only rules are left out; clean rules pass.
    incremental = detection.detect(url, since=query(url, "SELECT now()")[0][0])
    outcome = expectations.validate(url, incremental, keep_results=3)
    assert outcome.success and outcome.unchanged_since is None
    assert "link_backref_mismatch" not in {r.rule_id for r in outcome.results}

    runtime = expectations.runtime_dir()
    for _ in range(4):  # forced: as if each run had new findings
        (runtime / expectations.LAST_VALIDATION_FILE).unlink()
        expectations.validate(url, incremental, keep_results=3)
    kept = list((runtime / "validations").glob("*/*/*"))
    pages = list((runtime / "data_docs" / "validations").glob("*/*/*"))
    assert len(kept) == 3 and len(pages) == 3  # pruned, the site stays small
    stored = [json.loads(p.read_text()) for p in (runtime / "expectations").rglob("*.json")]
    assert [s["name"] for s in stored] == [expectations.SUITE_NAME]  # Data Docs show the suite


def test_data_docs_carry_no_personal_data(seeded) -> None:
    url, _ = seeded
    run_check(Settings(database_url=url), full=True, notify=False)
    phones = [
        p
        for (p,) in query(
            url, "SELECT from_number FROM calls WHERE from_number IS NOT NULL LIMIT 200"
        )
    ]
    site = expectations.runtime_dir() / "data_docs"
    html = "".join(p.read_text(errors="ignore") for p in site.rglob("*.html"))
    assert "bg_rule_findings" in html
    assert not any(phone in html for phone in phones)


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    return cli("check", *args, url=url)


def test_check_exit_codes_and_json(migrated_db: str) -> None:
    clean = run_cli(migrated_db, "--full", "--no-notify", "--no-docs")
    assert clean.returncode == 0, clean.stderr

    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'c')")
    plant(migrated_db, "INSERT INTO calls (id, company_id, direction) VALUES (1, 1, NULL)")
    warning = run_cli(migrated_db, "--full", "--no-notify", "--no-docs", "--json")
    assert warning.returncode == 1, warning.stderr
    report = json.loads(warning.stdout)
    by_rule = {r["rule_id"]: r for r in report["rules"]}
    assert by_rule["missing_direction"]["count"] == 1
    assert by_rule["missing_direction"]["sample_ids"] == [1]
    assert report["alerts"]["opened"] == 1 and report["exit_code"] == 1

    plant(migrated_db, "UPDATE calls SET appointment_made = true WHERE id = 1")
    critical = run_cli(migrated_db, "--no-notify", "--no-docs")
    assert critical.returncode == 2, critical.stderr
    assert "missing_appointment" in critical.stdout

    broken = cli("check", url="postgresql://postgres@127.0.0.1:1/x", timeout=60)
    assert broken.returncode == 3 and len(broken.stderr.strip().splitlines()) == 1


def test_check_before_migrate_and_check_call_of_an_unknown_call(app_db: str) -> None:
    result = run_cli(app_db, "--full")
    assert result.returncode == 3
    assert result.stderr.strip().endswith("run `booking-guard migrate` first")
    call = cli("check-call", "99", url=app_db, timeout=60)
    assert call.returncode == 3 and "call 99 does not exist" in call.stderr
