"""The Great Expectations suite is generated from the rule registry, never hand-kept."""

from __future__ import annotations

from booking_guard import expectations, rules


def test_one_expectation_per_rule_from_the_registry() -> None:
    suite = expectations.suite_definition(list(rules.RULES))
    ids = [e["meta"]["rule_id"] for e in suite["expectations"]]
    assert ids == [r.id for r in rules.RULES]
    for e, rule in zip(suite["expectations"], rules.RULES, strict=True):
        assert e["type"] == "unexpected_rows_expectation"
        assert f"rule_id = '{rule.id}'" in e["kwargs"]["unexpected_rows_query"]
        assert e["severity"] == rule.severity and rule.description in e["description"]


def test_a_run_without_some_rules_validates_only_those_it_ran() -> None:
    incremental = [r for r in rules.RULES if r.incremental]
    suite = expectations.suite_definition(incremental)
    assert "link_backref_mismatch" not in {e["meta"]["rule_id"] for e in suite["expectations"]}
