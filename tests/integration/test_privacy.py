"""Rule details reach alerts, Slack samples and Data Docs: no free text from the rows in them."""

from __future__ import annotations

import json

from booking_guard import detection
from tests.helpers import plant, query

NAME = "Anna Musterfrau"
PHONE = "0170 5550001"
EMAIL = "anna.musterfrau@example.com"
REASON = f"Kundin {NAME} ({PHONE}, {EMAIL}) wollte Termin am Montag, Slot belegt"
PASTED = f"{NAME} {PHONE}"  # free text in a status column


def test_rule_details_carry_no_planted_personal_data(migrated_db: str) -> None:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'c')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, retell_call_id, direction, session_outcome,"
        " booking_failed, booking_failure_reason) VALUES"
        " (1, 1, 'call_a', 'inbound', 'information_only', true, %s),"
        " (2, 1, 'call_b', 'inbound', %s, false, NULL),"
        " (3, 1, 'call_c', 'inbound', 'appointment_bookd', true, '')",
        (REASON, PASTED),
    )
    plant(
        migrated_db,
        "INSERT INTO appointments (id, company_id, call_id, calcom_v2_booking_id, status)"
        " VALUES (10, 1, NULL, 'bk', %s)",
        (EMAIL,),
    )

    run = detection.detect(migrated_db, full=True)

    rows = query(
        migrated_db,
        "SELECT rule_id, entity_id, column_name, detail FROM bg_rule_findings WHERE run_id = %s",
        (run.run_id,),
    )
    details = {(rule, entity, column): detail for rule, entity, column, detail in rows}
    stored = json.dumps([detail for *_, detail in rows], ensure_ascii=False)
    for planted in (NAME, "Anna", "Musterfrau", PHONE, "5550001", EMAIL, "example.com", "Kundin"):
        assert planted not in stored
    assert details["booking_failure", 1, None] == {
        "retell_call_id": "call_a",
        "reason_present": True,
        "reason_length": len(REASON),
        "requires_manual_processing": False,
    }
    assert details["booking_failure", 3, None]["reason_present"] is False
    assert details["invalid_value", 2, "session_outcome"]["value"] == "[redacted]"
    assert details["invalid_value", 10, "status"]["value"] == "[redacted]"
    # A value shaped like a code is what an operator needs to fix a typo: it stays.
    assert details["invalid_value", 3, "session_outcome"]["value"] == "appointment_bookd"


def test_check_call_details_carry_no_failure_reason(migrated_db: str) -> None:
    query(migrated_db, "INSERT INTO companies (id, name) VALUES (1, 'c')")
    plant(
        migrated_db,
        "INSERT INTO calls (id, company_id, direction, booking_failed, booking_failure_reason,"
        " customer_link_status) VALUES (1, 1, 'inbound', true, %s, %s)",
        (REASON, PASTED),
    )
    findings = detection.check_call(migrated_db, 1)
    assert {f.rule.id for f in findings} == {"booking_failure", "invalid_value"}
    shown = json.dumps([f.detail for f in findings], ensure_ascii=False)
    assert NAME not in shown and PHONE not in shown and EMAIL not in shown
