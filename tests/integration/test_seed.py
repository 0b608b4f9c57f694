"""The seeder: deterministic, and its ground truth is exactly what independent SQL finds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from booking_guard.errors import BookingGuardError
from booking_guard.seed import SeedSpec, Truth, seed
from tests.helpers import ANCHOR, query

LIVE_CALLS = "SELECT * FROM calls WHERE deleted_at IS NULL"
LIVE_APPOINTMENTS = "SELECT * FROM appointments WHERE deleted_at IS NULL"
# Written here from the rule definitions, independently of the generator.
FINDINGS = {
    "session_outcome_mismatch": f"""
        SELECT 'call', id, NULL FROM ({LIVE_CALLS}) c
         WHERE session_outcome = 'appointment_booked' AND NOT appointment_made""",
    "missing_appointment": f"""
        SELECT 'call', id, NULL FROM ({LIVE_CALLS}) c
         WHERE appointment_made
           AND NOT EXISTS (SELECT 1 FROM ({LIVE_APPOINTMENTS}) a WHERE a.call_id = c.id)""",
    "missing_direction": f"""
        SELECT 'call', id, NULL FROM ({LIVE_CALLS}) c WHERE coalesce(direction, '') = ''""",
    "orphaned_appointment": f"""
        SELECT 'appointment', id, NULL FROM ({LIVE_APPOINTMENTS}) a
         WHERE call_id IS NULL AND source = 'retell_webhook'""",
    "booking_failure": f"SELECT 'call', id, NULL FROM ({LIVE_CALLS}) c WHERE booking_failed",
    "inconsistent_link_status": f"""
        SELECT 'call', id, NULL FROM ({LIVE_CALLS}) c
         WHERE appointment_made AND appointment_link_status IS DISTINCT FROM 'linked'""",
    "appointment_call_missing": f"""
        SELECT 'appointment', id, NULL FROM ({LIVE_APPOINTMENTS}) a
         WHERE call_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM ({LIVE_CALLS}) c WHERE c.id = a.call_id)""",
    "link_backref_mismatch": f"""
        SELECT 'call', id, NULL FROM ({LIVE_CALLS}) c
         WHERE appointment_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM ({LIVE_APPOINTMENTS}) a
                            WHERE a.id = c.appointment_id AND a.call_id = c.id)""",
    "cross_tenant_link": f"""
        SELECT 'appointment', a.id, NULL FROM ({LIVE_APPOINTMENTS}) a
          JOIN ({LIVE_CALLS}) c ON c.id = a.call_id
         WHERE a.company_id <> c.company_id""",
    "duplicate_booking_id": f"""
        SELECT 'appointment', id, NULL FROM (
            SELECT id, count(*) OVER (PARTITION BY calcom_v2_booking_id) AS n
              FROM ({LIVE_APPOINTMENTS}) a WHERE calcom_v2_booking_id IS NOT NULL) d
         WHERE n > 1""",
    "invalid_value": f"""
        SELECT 'call', id, col FROM ({LIVE_CALLS}) c,
          LATERAL (VALUES
            ('direction', direction, ARRAY['inbound', 'outbound']),
            ('session_outcome', session_outcome, ARRAY['appointment_booked',
              'appointment_rescheduled', 'appointment_cancelled', 'information_only',
              'callback_requested', 'transferred', 'voicemail', 'abandoned', 'technical_issue',
              'spam', 'other', 'creation_failed']),
            ('customer_link_status', customer_link_status, ARRAY['linked', 'name_only',
              'anonymous', 'pending_review', 'unlinked', 'failed']),
            ('appointment_link_status', appointment_link_status, ARRAY['linked',
              'not_applicable', 'pending_creation', 'creation_failed', 'unlinked'])
          ) v (col, val, allowed)
         WHERE coalesce(val, '') <> '' AND NOT val = ANY (allowed)
        UNION ALL
        SELECT 'appointment', id, 'status' FROM ({LIVE_APPOINTMENTS}) a
         WHERE coalesce(status, '') <> '' AND status NOT IN
               ('pending', 'scheduled', 'confirmed', 'completed', 'cancelled', 'no_show')""",
}


def test_ground_truth_is_exactly_what_the_rules_find(seeded: tuple[str, set[Truth]]) -> None:
    url, truth = seeded
    found = {
        Truth(rule, entity_type, entity_id, column)
        for rule, sql in FINDINGS.items()
        for entity_type, entity_id, column in query(url, sql)
    }
    assert {t.rule for t in truth} == set(FINDINGS)  # every rule family is planted
    assert found - truth == set(), "found but not planted"
    assert truth - found == set(), "planted but not found"


def test_data_is_realistic(seeded: tuple[str, set[Truth]]) -> None:
    url, _ = seeded
    ((calls, booked, deleted, tenants, oldest, newest),) = query(
        url,
        "SELECT count(*), avg(appointment_made::int), count(deleted_at),"
        " count(DISTINCT company_id), min(created_at), max(created_at) FROM calls",
    )
    assert 19_900 <= calls <= 20_000
    assert 0.30 <= booked <= 0.40
    assert deleted > 0 and tenants == 3
    assert (ANCHOR - oldest).days == 9 and newest <= ANCHOR
    # Healthy links: the appointment and its call agree both ways, in the same tenant.
    ((mismatched,),) = query(
        url,
        "SELECT count(*) FROM appointments a JOIN calls c ON c.appointment_id = a.id"
        " WHERE a.call_id <> c.id",
    )
    assert mismatched < 0.01 * calls
    # The booking path records the call in the appointment's metadata.
    ((recorded, wrong),) = query(
        url,
        "SELECT count(*), count(*) FILTER (WHERE a.metadata->>'retell_call_id'"
        " IS DISTINCT FROM c.retell_call_id OR (a.metadata->>'call_id')::bigint <> c.id)"
        " FROM appointments a JOIN calls c ON c.id = a.call_id",
    )
    assert recorded > 0.3 * calls and wrong == 0


def test_same_seed_same_data(app_db: str, tmp_path: Path) -> None:
    """Reseeding with the same spec gives the same rows, ids and truth; another seed does not."""

    def checksums() -> dict[str, list[tuple]]:
        sql = "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM {} t"
        tables = ("companies", "customers", "calls", "appointments")
        return {table: query(app_db, sql.format(table)) for table in tables}

    small = SeedSpec(calls=3_000, companies=2, days=5, random_seed=11, anchor=ANCHOR)
    seed(app_db, small, tmp_path / "a.jsonl")
    first = checksums()
    seed(app_db, small, tmp_path / "b.jsonl")
    assert checksums() == first
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()

    seed(app_db, replace(small, random_seed=12), tmp_path / "c.jsonl")
    assert checksums()["calls"] != first["calls"]
    assert (tmp_path / "c.jsonl").read_bytes() != (tmp_path / "a.jsonl").read_bytes()


def test_reseeding_replaces_the_data(seeded: tuple[str, set[Truth]]) -> None:
    url, _ = seeded
    query(
        url,
        "INSERT INTO data_consistency_alerts (alert_type, entity_type, description)"
        " VALUES ('x', 'call', 'stale')",
    )
    summary = seed(url, SeedSpec(calls=500, random_seed=1, anchor=ANCHOR))
    assert query(url, "SELECT count(*) FROM calls") == [(summary.calls,)]
    assert query(url, "SELECT count(*) FROM data_consistency_alerts") == [(0,)]
    assert query(url, "SELECT max(id) < nextval('calls_id_seq') FROM calls") == [(True,)]


def test_refuses_a_database_it_did_not_install(empty_db: str) -> None:
    query(empty_db, "CREATE TABLE calls (id bigint)")
    with pytest.raises(BookingGuardError, match="reference-schema marker"):
        seed(empty_db, SeedSpec(calls=10))
    assert query(empty_db, "SELECT count(*) FROM calls") == [(0,)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("calls", -1, "--calls"),
        ("companies", 0, "--companies"),
        ("defect_rate", 0.9, "--defect-rate"),
    ],
)
def test_rejects_bad_specs(field: str, value: float, message: str) -> None:
    spec = SeedSpec(**{"calls": 10, field: value})
    with pytest.raises(BookingGuardError, match=message):
        spec.validate()


def test_zero_calls_seed_an_empty_data_set(app_db: str) -> None:
    summary = seed(app_db, SeedSpec(calls=0, companies=2, anchor=ANCHOR))
    assert (summary.calls, summary.appointments, summary.truth) == (0, 0, [])
    assert query(app_db, "SELECT count(*) FROM companies") == [(2,)]
