"""The seeder's plan: one planter and one share per detection rule, one defect per entity."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

from booking_guard.rules import RULES
from booking_guard.seed import DEFECT_MIX, PLANTERS, generate
from tests.helpers import SPEC


def test_every_rule_has_a_planter_and_every_planter_a_rule() -> None:
    rules = {rule.id for rule in RULES}
    assert rules - PLANTERS.keys() == set(), "rules without a planter in seed.PLANTERS"
    assert PLANTERS.keys() - rules == set(), "planters without a rule in rules.RULES"


def test_every_planter_has_a_share_and_the_mix_sums_to_one() -> None:
    assert DEFECT_MIX.keys() == PLANTERS.keys()
    assert all(share > 0 for share in DEFECT_MIX.values())
    assert math.isclose(sum(DEFECT_MIX.values()), 1.0)


def test_every_rule_is_planted_and_no_entity_carries_two_defects() -> None:
    truth = generate(SPEC).truth
    assert {t.rule for t in truth} == PLANTERS.keys()
    entities = Counter((t.entity_type, t.entity_id) for t in truth)
    assert [entity for entity, count in entities.items() if count > 1] == []


def test_the_planted_share_follows_the_mix() -> None:
    planted = Counter(t.rule for t in generate(SPEC).truth)
    # A planted call yields one finding, except where a defect also marks a partner's row.
    for rule, share in DEFECT_MIX.items():
        budget = round(SPEC.calls * SPEC.defect_rate * share)
        assert budget <= planted[rule] <= budget * (1 + PLANTERS[rule].partners_per_call), rule


def test_same_spec_same_data_in_memory() -> None:
    small = replace(SPEC, calls=2_000)
    first, second = generate(small), generate(small)
    assert first.truth == second.truth
    assert first.tables.keys() == second.tables.keys()
    for table, frame in first.tables.items():
        assert frame.equals(second.tables[table]), table
    assert generate(replace(small, random_seed=small.random_seed + 1)).truth != first.truth


def test_one_tenant_gets_no_cross_tenant_defects() -> None:
    truth = generate(replace(SPEC, calls=2_000, companies=1)).truth
    planted = {t.rule for t in truth}
    assert planted == {rule for rule, planter in PLANTERS.items() if planter.min_companies <= 1}
