"""Post-booking validation of a fresh booking on a 1,000,000-call database (target p99 < 10 ms).

Seeds a scratch database, books ``--bookings`` new calls the way the booking path does (one
appointment insert per call, the trigger links it), then validates each fresh booking with
``validate_appointment_creation(call, appointment, booking uid)``:

- on one reused connection (the booking path's case: it validates on the connection it booked
  with), interleaved in rounds with the baseline — the floor of one primary-key lookup of the
  call on the same connection;
- with a new connection per validation (``url=``: a one-shot caller), for scale.

Reports p50 and p99 of each and the validation's p50 against the baseline's.

    .venv/bin/python bench/validation.py [--calls 1000000] [--bookings 5000] [--rounds 5]
"""

from __future__ import annotations

import statistics
import time

import psycopg
from scratch import parser, scratch_database

from booking_guard.validation import validate_appointment_creation

BOOK = """
    WITH fresh AS (
        INSERT INTO calls (company_id, retell_call_id, direction)
        SELECT 1, 'bench_' || g, 'inbound' FROM generate_series(1, %(n)s) g
        RETURNING id
    )
    INSERT INTO appointments (company_id, call_id, calcom_v2_booking_id, source, status)
    SELECT 1, id, 'bench_bk_' || id, 'retell_webhook', 'scheduled' FROM fresh
"""
BOOKINGS = """
    SELECT a.call_id, a.id, a.calcom_v2_booking_id
      FROM appointments a WHERE a.calcom_v2_booking_id LIKE 'bench_bk_%' ORDER BY a.id
"""
BASELINE = "SELECT * FROM calls WHERE id = %s"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--bookings", type=int, default=5_000)
    options.add_argument("--rounds", type=int, default=5)
    options.add_argument("--fresh-connections", type=int, default=500)
    args = options.parse_args()
    with scratch_database(args.server, calls=args.calls) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute(BOOK, {"n": args.bookings})
            conn.execute("ANALYZE calls; ANALYZE appointments")
            bookings = conn.execute(BOOKINGS).fetchall()
            print(f"{len(bookings):,} fresh bookings made in {time.perf_counter() - started:.1f} s")
            validation: list[float] = []
            baseline: list[float] = []
            per_round = len(bookings) // args.rounds
            for r in range(args.rounds):
                chunk = bookings[r * per_round : (r + 1) * per_round]
                for call_id, _, _ in chunk:
                    t = time.perf_counter()
                    conn.execute(BASELINE, (call_id,)).fetchone()
                    baseline.append(time.perf_counter() - t)
                for call_id, appointment_id, uid in chunk:
                    t = time.perf_counter()
                    result = validate_appointment_creation(call_id, appointment_id, uid, conn=conn)
                    validation.append(time.perf_counter() - t)
                    assert result.success, result
        fresh: list[float] = []
        for call_id, appointment_id, uid in bookings[: args.fresh_connections]:
            t = time.perf_counter()
            assert validate_appointment_creation(call_id, appointment_id, uid, url=url).success
            fresh.append(time.perf_counter() - t)

    def row(name: str, samples: list[float]) -> str:
        p50, p99 = percentile(samples, 0.5) * 1000, percentile(samples, 0.99) * 1000
        return f"{name:<46} {len(samples):>6,}  p50 {p50:7.3f} ms  p99 {p99:7.3f} ms"

    print(f"database: {args.calls:,} seeded calls + {len(bookings):,} fresh bookings")
    print(row("baseline: primary-key lookup of the call", baseline))
    print(row("validation, reused connection", validation))
    print(row("validation, new connection each", fresh))
    ratio = statistics.median(validation) / statistics.median(baseline)
    p99 = percentile(validation, 0.99) * 1000
    print(
        f"validation p50 = {ratio:.2f}x the baseline's; target p99 < 10 ms:"
        f" {'met' if p99 < 10 else 'MISSED'} ({p99:.3f} ms)"
    )


if __name__ == "__main__":
    main()
