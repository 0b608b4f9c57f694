"""Cost of the database triggers on a 1,000,000-call table, each against its baseline in this run.

- 200,000 calls by INSERT…SELECT and by COPY, triggers on vs off (target <= 1.3x);
- one UPDATE of 200,000 calls touching the columns the triggers watch, on vs off (<= 1.5x),
  and one touching other columns;
- single-row INSERTs, median per statement, on vs off (<= 1.2x);
- 200,000 appointments whose calls must be synced: triggers on vs the floor = the same insert
  with triggers off plus the hand-written ``UPDATE calls … FROM`` doing the same sync in the same
  transaction (<= 1.2x); the bare insert is shown for scale;
- one UPDATE of 50,000 calls that each need a correction (outcome booked, flag false), so each
  writes an audit row: triggers on vs the floor = the same UPDATE with the correction written by
  hand, triggers off, followed by a hand-written set-wise audit ``INSERT … SELECT`` (<= 2x); for
  reference, the same UPDATE under revision 0003 (one audit INSERT per row) at the end;
- the single-row INSERT again at revisions 0006 and 0003 (migrating down on the same table): what
  0007's change events and 0004's audit staging each add to a one-row statement.

"Off" is ``ALTER TABLE … DISABLE TRIGGER USER`` inside the measured transaction (foreign-key
checks stay on in both). Every measured statement is rolled back and the tables vacuumed, on and
off alternate, medians of the runs are compared.

    .venv/bin/python bench/triggers.py [--calls 1000000] [--rows 200000] [--corrections 50000]
        [--runs 3] [--only NAME]
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from scratch import parser, scratch_database

from booking_guard import migrations

OFF = "ALTER TABLE calls DISABLE TRIGGER USER; ALTER TABLE appointments DISABLE TRIGGER USER"
CALL_COLUMNS = (
    "company_id, retell_call_id, from_number, to_number, direction, duration_sec, customer_id,"
    " customer_link_status, customer_link_method, customer_link_confidence, customer_linked_at,"
    " appointment_made, appointment_link_status, session_outcome, booking_failed, created_at,"
    " updated_at"
)


def renamed(suffix: str) -> str:
    """The call columns, with retell_call_id made unique for the copy."""
    return CALL_COLUMNS.replace(
        "retell_call_id", f"retell_call_id || '{suffix}' AS retell_call_id", 1
    )


CORRECTED = "UPDATE of calls, each corrected and audited"
SINGLE = "single-row INSERT of a call (per statement)"
SYNC = """
    UPDATE calls c
       SET appointment_made = true, appointment_id = a.id, appointment_link_status = 'linked',
           appointment_linked_at = now(),
           session_outcome = coalesce(c.session_outcome, 'appointment_booked'),
           updated_at = now()
      FROM appointments a
     WHERE a.id > %(first)s AND c.id = a.call_id
"""


# The correction the triggers make on each row, and the audit rows they write, by hand.
CORRECT_BY_HAND = """
    UPDATE calls c
       SET session_outcome = 'appointment_booked', appointment_made = true, updated_at = now()
      FROM bench_fix f
     WHERE c.id = f.id
"""
AUDIT_BY_HAND = """
    INSERT INTO data_consistency_alerts
           (company_id, alert_type, severity, entity_type, entity_id, description, metadata,
            detected_at, last_seen_at, resolved_at, auto_corrected, corrected_at)
    SELECT c.company_id, 'session_outcome_mismatch', 'warning', 'call', c.id,
           'Call outcome was appointment_booked with appointment_made false; flag set.',
           jsonb_build_object('appointment_made', jsonb_build_object('before', false,
                                                                     'after', true),
                              'source', 'trigger'),
           now(), now(), now(), true, now()
      FROM bench_fix f
      JOIN calls c ON c.id = f.id
"""


def timed(url: str, statement: Callable[[psycopg.Connection], None], *, triggers: bool) -> float:
    with psycopg.connect(url) as conn:
        if not triggers:
            conn.execute(OFF)
        started = time.perf_counter()
        statement(conn)
        seconds = time.perf_counter() - started
        conn.rollback()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM calls, appointments, data_consistency_alerts")
    return seconds


def compare(name: str, runs: int, on, off, target: float) -> None:
    ons, offs = [], []
    for _ in range(runs):
        offs.append(off())
        ons.append(on())
    on_m, off_m = statistics.median(ons), statistics.median(offs)
    verdict = "met" if on_m / off_m <= target else "MISSED"
    print(
        f"{name:<50} on {on_m * 1000:10.3f} ms  baseline {off_m * 1000:10.3f} ms"
        f"  ratio {on_m / off_m:5.2f}x  (target <= {target}x: {verdict})"
    )


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--rows", type=int, default=200_000)
    options.add_argument("--corrections", type=int, default=50_000)
    options.add_argument("--only", help="run only the measurements whose name contains this")
    args = options.parse_args()

    with scratch_database(args.server, calls=args.calls, anchor=datetime.now(UTC)) as url:
        rows = args.rows
        with psycopg.connect(url, autocommit=True) as conn:
            # New calls shaped like the seeded ones (their defect mix included).
            conn.execute(
                f"CREATE TABLE bench_calls AS SELECT {renamed('-b')} FROM calls ORDER BY id"
                f" LIMIT {rows}"
            )
            copy_data = bytearray()
            with conn.cursor().copy(f"COPY bench_calls ({CALL_COLUMNS}) TO STDOUT") as copy:
                for chunk in copy:
                    copy_data += chunk
            # Calls waiting for their appointment, committed with triggers off.
            conn.execute(OFF)
            (first_sync_call,) = conn.execute(
                f"INSERT INTO calls ({CALL_COLUMNS}) SELECT {renamed('-s')} FROM bench_calls"
                " RETURNING id"
            ).fetchone()
            conn.execute(
                "UPDATE calls SET appointment_made = false, session_outcome = NULL,"
                " appointment_link_status = 'pending_creation', appointment_id = NULL"
                " WHERE id >= %s",
                (first_sync_call,),
            )
            conn.execute("ALTER TABLE calls ENABLE TRIGGER USER")
            conn.execute("ALTER TABLE appointments ENABLE TRIGGER USER")
            (last_appointment,) = conn.execute("SELECT max(id) FROM appointments").fetchone()
            # Calls the correcting UPDATE turns into (appointment_booked, false): all but those
            # already in that state, which the UPDATE would not change.
            conn.execute(
                "CREATE TABLE bench_fix AS SELECT id FROM calls"
                " WHERE session_outcome IS DISTINCT FROM 'appointment_booked' OR appointment_made"
                " ORDER BY id LIMIT %s",
                (args.corrections,),
            )
            conn.execute("VACUUM ANALYZE calls, appointments, bench_fix")
        print(f"table: {args.calls:,} calls; batches of {rows:,} rows; {args.runs} runs each\n")

        def insert_select(conn):
            conn.execute(
                f"INSERT INTO calls ({CALL_COLUMNS}) SELECT {CALL_COLUMNS} FROM bench_calls"
            )

        def copy_in(conn):
            with conn.cursor().copy(f"COPY calls ({CALL_COLUMNS}) FROM STDIN") as copy:
                copy.write(bytes(copy_data))

        def update_watched(conn):
            conn.execute(
                "UPDATE calls SET session_outcome = coalesce(session_outcome, 'other'),"
                " appointment_made = appointment_made, updated_at = now() WHERE id <= %s",
                (rows,),
            )

        def update_other(conn):
            conn.execute(
                "UPDATE calls SET duration_sec = duration_sec + 1, updated_at = now()"
                " WHERE id <= %s",
                (rows,),
            )

        def single_rows(conn, count=2000):
            statement = (
                "INSERT INTO calls (company_id, retell_call_id, direction, session_outcome,"
                " appointment_made) VALUES (1, %s, 'inbound', 'information_only', false)"
            )
            per_row = []
            for i in range(count):
                started = time.perf_counter()
                conn.execute(statement, (f"single-{uuid.uuid4().hex}-{i}",), prepare=True)
                per_row.append(time.perf_counter() - started)
            return statistics.median(per_row)

        def insert_appointments(conn):
            conn.execute(
                "INSERT INTO appointments (company_id, call_id, calcom_v2_booking_id, source,"
                " status, created_at, updated_at)"
                " SELECT company_id, id, 'bench-' || id, 'retell_webhook', 'scheduled',"
                " now(), now() FROM calls WHERE id >= %s",
                (first_sync_call,),
            )

        def insert_and_sync(conn):
            insert_appointments(conn)
            conn.execute(SYNC, {"first": last_appointment})

        def update_needing_correction(conn):
            audits = conn.execute(
                "UPDATE calls c SET session_outcome = 'appointment_booked',"
                " appointment_made = false, updated_at = now() FROM bench_fix f WHERE c.id = f.id"
            ).rowcount
            written = conn.execute("SELECT count(*) FROM data_consistency_alerts").fetchone()[0]
            assert written == audits == args.corrections, (written, audits)

        def correct_and_audit_by_hand(conn):
            conn.execute(CORRECT_BY_HAND)
            conn.execute(AUDIT_BY_HAND)

        def single(triggers: bool) -> float:
            with psycopg.connect(url) as conn:
                if not triggers:
                    conn.execute(OFF)
                median = single_rows(conn)
                conn.rollback()
            return median

        def on_off(statement):
            return (
                lambda: timed(url, statement, triggers=True),
                lambda: timed(url, statement, triggers=False),
            )

        measurements = [
            ("INSERT ... SELECT of calls", *on_off(insert_select), 1.3),
            ("COPY of calls", *on_off(copy_in), 1.3),
            ("UPDATE of calls, watched columns", *on_off(update_watched), 1.5),
            ("UPDATE of calls, other columns", *on_off(update_other), 1.5),
            (
                SINGLE,
                lambda: single(True),
                lambda: single(False),
                1.2,
            ),
            (
                "appointments + call sync vs insert + UPDATE…FROM",
                lambda: timed(url, insert_appointments, triggers=True),
                lambda: timed(url, insert_and_sync, triggers=False),
                1.2,
            ),
            (
                CORRECTED,
                lambda: timed(url, update_needing_correction, triggers=True),
                lambda: timed(url, correct_and_audit_by_hand, triggers=False),
                2.0,
            ),
        ]

        def selected(name: str) -> bool:
            return not args.only or args.only.lower() in name.lower()

        for name, on, off, target in measurements:
            if selected(name):
                compare(name, args.runs, on, off, target)
        bare = statistics.median(
            timed(url, insert_appointments, triggers=False) for _ in range(args.runs)
        )
        print(f"{'(bare appointment insert, triggers off)':<50} {bare * 1000:10.3f} ms")
        # Going down on the same table, what each later revision adds to a single-row insert:
        # 0007's change events (the event path), 0004's audit staging.
        if selected(SINGLE):
            for revision in ("0006", "0003"):
                migrations.downgrade(url, revision)
                on, off = (lambda: single(True)), (lambda: single(False))
                compare(f"(the same at revision {revision})", args.runs, on, off, 1.2)
        if selected(CORRECTED):
            migrations.downgrade(url, "0003")
            row_by_row = statistics.median(
                timed(url, update_needing_correction, triggers=True) for _ in range(args.runs)
            )
            label = "(the same UPDATE under 0003, audit row by row)"
            print(f"{label:<50} {row_by_row * 1000:10.3f} ms")


if __name__ == "__main__":
    main()
