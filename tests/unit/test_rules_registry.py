"""The rule registry: one declaration per rule file, and rendering of the scopes."""

from __future__ import annotations

import pytest

from booking_guard import rules
from booking_guard.resources import sql_files
from booking_guard.rules import ScopeKind, registry_mismatch
from booking_guard.severity import Severity


def test_every_rule_file_is_declared_once_and_every_declaration_has_a_file() -> None:
    files = [f for f in sql_files("rules") if f.endswith(".sql")]
    assert registry_mismatch([r.id for r in rules.RULES], files) is None
    assert {f"{r.id}.sql" for r in rules.RULES} <= set(files)


@pytest.mark.parametrize(
    ("ids", "files", "problem"),
    [
        (["a", "b"], ["a.sql", "_scope.sql"], "declared without a file: b"),
        (["a"], ["a.sql", "c.sql"], "a file without a declaration: c"),
        (["a", "a"], ["a.sql"], "declared twice: a"),
    ],
)
def test_a_mismatch_is_named(ids: list[str], files: list[str], problem: str) -> None:
    assert registry_mismatch(ids, files) == problem


def test_scopes_fill_every_placeholder_of_every_rule() -> None:
    for rule in rules.RULES:
        for scope in rule.scopes:
            text = rule.query(scope).as_string(None)
            assert "{" not in text.replace("{}", ""), (rule.id, scope)
            if scope is ScopeKind.FULL:
                assert "bg_scope" not in text
            else:
                assert "bg_scope_" in text or "_scope}" not in rule.sql


def test_severity_rank_and_minimum() -> None:
    assert [s.rank for s in Severity] == [0, 1, 2]
    assert Severity.WARNING.and_above() == [Severity.CRITICAL, Severity.WARNING]
    assert Severity.worst([Severity.INFO, Severity.WARNING]) is Severity.WARNING
    assert Severity.worst([]) is None


def test_registry_matches_the_sql_files_and_the_issue() -> None:
    assert len(rules.RULES) == 11 == len(rules.RULES_BY_ID)
    for rule in rules.RULES:
        assert "_scope}" in rule.sql or not rule.incremental, rule.id
    severities = {r.id: r.severity for r in rules.RULES}
    assert severities == {
        "session_outcome_mismatch": "critical",
        "missing_appointment": "critical",
        "missing_direction": "warning",
        "orphaned_appointment": "warning",
        "booking_failure": "info",
        "inconsistent_link_status": "warning",
        "appointment_call_missing": "critical",
        "link_backref_mismatch": "warning",
        "cross_tenant_link": "critical",
        "duplicate_booking_id": "critical",
        "invalid_value": "warning",
    }
