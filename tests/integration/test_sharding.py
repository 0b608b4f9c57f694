"""The full scan split into company shards finds exactly what the single full scan finds."""

from __future__ import annotations

import pytest

from booking_guard import alerts, detection
from booking_guard.rules import RULES, Shard
from tests.helpers import query


def findings(url: str, run_id: int) -> set[tuple]:
    rows = query(
        url,
        "SELECT rule_id, entity_type, entity_id, coalesce(column_name, '') FROM bg_rule_findings"
        " WHERE run_id = %s",
        (run_id,),
    )
    return set(rows)


@pytest.mark.parametrize("shards", [2, 3])
def test_shards_find_the_same_as_one_full_scan(seeded, shards: int) -> None:
    url, _ = seeded
    single = detection.detect(url, full=True)

    run = detection.open_run(url, "full", None)
    parts = [detection.scan_shard(url, run, Shard(k, shards)) for k in range(shards)]
    merged = detection.merge_shards(url, run, parts)

    assert findings(url, merged.run_id) == findings(url, single.run_id)
    assert merged.counts == single.counts  # no rule counted twice across shards
    assert sum(1 for r in RULES if not r.shardable) >= 1  # those ran in shard 0 only
    assert {rule for part in parts[1:] for rule in part.counts} == {
        r.id for r in RULES if r.shardable
    }


def test_sharded_alerts_equal_single_task_alerts(seeded) -> None:
    url, truth = seeded
    run = detection.open_run(url, "full", None)
    merged = detection.merge_shards(
        url, run, [detection.scan_shard(url, run, Shard(k, 2)) for k in range(2)]
    )
    changes = alerts.record(url, merged)
    assert changes.opened == len(truth)
    rows = query(
        url,
        "SELECT alert_type, entity_type, entity_id FROM data_consistency_alerts"
        " WHERE resolved_at IS NULL AND fingerprint IS NOT NULL",
    )
    assert {(t.rule, t.entity_type, t.entity_id) for t in truth} == set(rows)
