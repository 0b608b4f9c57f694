"""Synthetic booking data with planted defects and their ground truth.

The generator is vectorised (numpy) and deterministic: the same ``SeedSpec`` gives the same rows,
the same ids and the same truth file. Rows go to PostgreSQL with COPY in one transaction, with
triggers off (``session_replication_role = replica``), exactly as a bulk import would be done, so
the planted defects stay in the data for the monitor to find.

Every planted defect is shaped to break exactly the rules listed for it in the truth file and no
other; healthy rows break none. Soft-deleted rows carry decoy defects that the rules must skip.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from booking_guard.db import connect
from booking_guard.errors import BookingGuardError

BOOKED_SHARE = 0.35
CHUNK_ROWS = 100_000
# Above this the pool of healthy booked calls runs out for the booked-only families.
MAX_DEFECT_RATE = 0.25
REFERENCE_SCHEMA_MARKER = "booking-guard reference schema"

# Share of the planted defects per rule family: most are the trivially correctable kinds.
DEFECT_MIX: dict[str, float] = {
    "missing_direction": 0.30,
    "inconsistent_link_status": 0.15,
    "orphaned_appointment": 0.12,
    "session_outcome_mismatch": 0.12,
    "booking_failure": 0.08,
    "missing_appointment": 0.06,
    "invalid_value": 0.06,
    "link_backref_mismatch": 0.04,
    "appointment_call_missing": 0.03,
    "duplicate_booking_id": 0.02,
    "cross_tenant_link": 0.02,
}
# Which calls a family is planted on: booked (has an appointment), unbooked, or either.
FAMILY_POOL = {
    "missing_direction": "any",
    "inconsistent_link_status": "booked",
    "orphaned_appointment": "booked",
    "session_outcome_mismatch": "booked",
    "booking_failure": "unbooked",
    "missing_appointment": "unbooked",
    "invalid_value": "any",
    "link_backref_mismatch": "booked",
    "appointment_call_missing": "booked",
    "duplicate_booking_id": "booked",
    "cross_tenant_link": "booked",
}

OTHER_OUTCOMES = np.array(
    [
        "information_only",
        "callback_requested",
        "transferred",
        "voicemail",
        "abandoned",
        "technical_issue",
        "spam",
        "other",
        "appointment_rescheduled",
        "appointment_cancelled",
    ]
)
OTHER_OUTCOME_WEIGHTS = np.array([0.30, 0.18, 0.10, 0.10, 0.08, 0.04, 0.04, 0.06, 0.06, 0.04])
APPOINTMENT_STATUSES = np.array(
    ["scheduled", "confirmed", "completed", "cancelled", "no_show", "pending"]
)
APPOINTMENT_STATUS_WEIGHTS = np.array([0.40, 0.35, 0.15, 0.05, 0.03, 0.02])
FIRST_NAMES = np.array(
    ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hannah", "Jonas"]
)
LAST_NAMES = np.array(["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner"])
FAILURE_REASONS = np.array(["calcom_timeout", "slot_unavailable", "calcom_http_500"])
# Out-of-set values the app is known to write (BEHAVIOUR §G-1) and typos of the same kind.
INVALID_CALL_VALUES = [
    ("direction", "inbund"),
    ("session_outcome", "call_ended"),
    ("customer_link_status", "verified"),
    ("appointment_link_status", "pending"),
]
INVALID_APPOINTMENT_STATUS = "booked"


@dataclass(frozen=True)
class SeedSpec:
    """What to generate; ``anchor`` is "now" for the data, timestamps lie ``days`` before it."""

    calls: int
    companies: int = 5
    days: int = 30
    defect_rate: float = 0.04
    random_seed: int = 42
    anchor: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0)
    )

    def validate(self) -> None:
        if self.calls < 0:
            raise BookingGuardError(f"--calls must be 0 or more, got {self.calls}")
        if self.companies < 1:
            raise BookingGuardError(f"--companies must be 1 or more, got {self.companies}")
        if self.days < 1:
            raise BookingGuardError(f"--days must be 1 or more, got {self.days}")
        if not 0.0 <= self.defect_rate <= MAX_DEFECT_RATE:
            raise BookingGuardError(
                f"--defect-rate must be between 0 and {MAX_DEFECT_RATE}, got {self.defect_rate}"
            )


@dataclass(frozen=True)
class Truth:
    """One finding a correct rule must report: (rule, entity_type, entity_id[, column])."""

    rule: str
    entity_type: str
    entity_id: int
    column: str | None = None

    def as_json(self) -> str:
        record = {"rule": self.rule, "entity_type": self.entity_type, "entity_id": self.entity_id}
        if self.column is not None:
            record["column"] = self.column
        return json.dumps(record, ensure_ascii=False)


@dataclass
class SeedSummary:
    companies: int
    customers: int
    calls: int
    appointments: int
    soft_deleted_calls: int
    soft_deleted_appointments: int
    truth: list[Truth]

    @property
    def findings_per_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(t.rule for t in self.truth).items()))


def seed(url: str, spec: SeedSpec, truth_path: Path | None = None) -> SeedSummary:
    """Replace the data of a reference-schema database with a fresh synthetic set."""
    spec.validate()
    data = generate(spec)
    with connect(url) as conn:
        _require_reference_schema(conn)
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(
            "TRUNCATE companies, customers, calls, appointments, retell_call_sessions,"
            " retell_error_log RESTART IDENTITY CASCADE"
        )
        for table in (
            "data_consistency_alerts",
            "manual_review_queue",
            "circuit_breaker_states",
            "bg_notification_throttle",
            "bg_check_runs",
        ):
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None:
                conn.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
        for table, frame in data.tables.items():
            _copy(conn, table, frame)
            if len(frame):
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)",
                    (int(frame["id"].max()),),
                )
    with connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE companies, customers, calls, appointments")
    if truth_path is not None:
        write_truth(truth_path, data.truth)
    return data.summary()


def write_truth(path: Path, truth: Iterable[Truth]) -> None:
    """The ground truth as JSON lines, one finding a line, in a stable order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = sorted(t.as_json() for t in truth)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def read_truth(path: Path) -> set[Truth]:
    with path.open(encoding="utf-8") as handle:
        return {Truth(**json.loads(line)) for line in handle if line.strip()}


def _require_reference_schema(conn) -> None:
    row = conn.execute("SELECT obj_description(to_regclass('calls'), 'pg_class')").fetchone()
    if row is None or row[0] != REFERENCE_SCHEMA_MARKER:
        raise BookingGuardError(
            "seed replaces all booking data and only runs on a database whose schema was installed"
            " by `booking-guard app-schema` (no reference-schema marker on table calls)"
        )


def _copy(conn, table: str, frame: pd.DataFrame) -> None:
    columns = ", ".join(frame.columns)
    with conn.cursor().copy(
        f"COPY {table} ({columns}) FROM STDIN (FORMAT csv, DELIMITER E'\\t', NULL '\\N', FREEZE)"
    ) as copy:
        for start in range(0, len(frame), CHUNK_ROWS):
            buffer = io.StringIO()
            frame.iloc[start : start + CHUNK_ROWS].to_csv(
                buffer,
                sep="\t",
                header=False,
                index=False,
                na_rep="\\N",
                lineterminator="\n",
            )
            copy.write(buffer.getvalue())


@dataclass
class GeneratedData:
    tables: dict[str, pd.DataFrame]
    truth: list[Truth]

    def summary(self) -> SeedSummary:
        calls, appointments = self.tables["calls"], self.tables["appointments"]
        return SeedSummary(
            companies=len(self.tables["companies"]),
            customers=len(self.tables["customers"]),
            calls=len(calls),
            appointments=len(appointments),
            soft_deleted_calls=int(calls["deleted_at"].notna().sum()),
            soft_deleted_appointments=int(appointments["deleted_at"].notna().sum()),
            truth=self.truth,
        )


def _timestamps(epoch_us: np.ndarray) -> np.ndarray:
    """ISO-8601 UTC text (PostgreSQL reads it as timestamptz); NaN stays NULL."""
    valid = ~np.isnan(epoch_us)
    out = np.full(epoch_us.shape, None, dtype=object)
    stamps = epoch_us[valid].astype("int64").astype("datetime64[us]")
    out[valid] = np.datetime_as_string(stamps, unit="us", timezone="UTC")
    return out


def _with_nulls(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = values.astype(object)
    out[mask] = None
    return out


def _ids(prefix: str, ids: np.ndarray, salt: np.ndarray) -> np.ndarray:
    """Unique, id-derived identifiers that do not look sequential."""
    text = pd.Series(ids).map("{:08d}".format) + pd.Series(salt).map("{:08x}".format)
    return (prefix + text).to_numpy(dtype=object)


class _Pools:
    """Disjoint draws of calls for planting: a call carries at most one defect."""

    def __init__(self, rng: np.random.Generator, booked: np.ndarray, unbooked: np.ndarray):
        self._pools = {
            "booked": list(rng.permutation(booked)),
            "unbooked": list(rng.permutation(unbooked)),
        }

    def take(self, pool: str, count: int) -> np.ndarray:
        taken = self._pools[pool][:count]
        del self._pools[pool][:count]
        return np.array(taken, dtype=np.int64)


def generate(spec: SeedSpec) -> GeneratedData:
    """Build every table in memory (positions are ids - 1) and the ground truth."""
    rng = np.random.default_rng(spec.random_seed)
    n, k = spec.calls, spec.companies
    anchor_us = spec.anchor.timestamp() * 1e6
    span_us = spec.days * 86_400e6

    companies = pd.DataFrame(
        {
            "id": np.arange(1, k + 1),
            "name": [f"Company {i}" for i in range(1, k + 1)],
            "created_at": _timestamps(np.full(k, anchor_us - span_us - 86_400e6)),
        }
    )

    # Customers in contiguous blocks per company, so a call picks one of its own tenant.
    m = max(k, n // 4)
    customer_company = 1 + (np.arange(m) * k) // m
    block_start = np.searchsorted(customer_company, np.arange(1, k + 1))
    block_size = np.diff(np.append(block_start, m))
    first = rng.choice(FIRST_NAMES, m)
    last = rng.choice(LAST_NAMES, m)
    customer_names = pd.Series(first) + " " + pd.Series(last)
    customers = pd.DataFrame(
        {
            "id": np.arange(1, m + 1),
            "company_id": customer_company,
            "name": customer_names,
            "phone": "+4930" + pd.Series(rng.integers(1_000_000, 9_999_999, m)).astype(str),
            "email": (
                pd.Series(first).str.lower() + "." + pd.Series(np.arange(1, m + 1)).astype(str)
            )
            + "@example.com",
            "created_at": _timestamps(np.full(m, anchor_us - span_us)),
        }
    )

    # Calls: ids follow time, about a third book an appointment.
    call_id = np.arange(1, n + 1)
    company = rng.integers(1, k + 1, n)
    created = anchor_us - np.sort(rng.random(n))[::-1] * span_us
    duration = rng.integers(15, 600, n)
    ended = np.minimum(created + duration * 1e6, anchor_us)
    has_customer = rng.random(n) < 0.8
    customer = np.where(
        has_customer,
        1 + block_start[company - 1] + (rng.random(n) * block_size[company - 1]).astype(np.int64),
        0,
    )
    anonymous = ~has_customer & (rng.random(n) < 0.25)
    booked = rng.random(n) < BOOKED_SHARE
    direction = np.where(rng.random(n) < 0.85, "inbound", "outbound").astype(object)
    outcome = np.where(
        booked, "appointment_booked", rng.choice(OTHER_OUTCOMES, n, p=OTHER_OUTCOME_WEIGHTS)
    ).astype(object)
    link_status = np.where(booked, "linked", "not_applicable").astype(object)
    customer_link = np.where(
        has_customer, "linked", np.where(anonymous, "anonymous", "unlinked")
    ).astype(object)
    made = booked.copy()
    booking_failed = np.zeros(n, dtype=bool)
    failure_reason = np.full(n, None, dtype=object)
    call_deleted = np.full(n, np.nan)
    keep_call = np.ones(n, dtype=bool)

    # Appointments of booked calls, then appointments booked outside any call.
    booked_calls = call_id[booked]
    b = len(booked_calls)
    walk_in = int(n * 0.03)
    a = b + walk_in
    appointment_id = np.arange(1, a + 1)
    appt_call = np.concatenate([booked_calls, np.zeros(walk_in, dtype=np.int64)])
    appt_company = np.concatenate([company[booked], rng.integers(1, k + 1, walk_in)])
    appt_created = np.concatenate(
        [
            created[booked] + rng.random(b) * (ended[booked] - created[booked]),
            anchor_us - rng.random(walk_in) * span_us,
        ]
    )
    appt_customer = np.concatenate([customer[booked], np.zeros(walk_in, dtype=np.int64)])
    appt_source = np.concatenate(
        [np.full(b, "retell_webhook"), rng.choice(["calcom_web", "manual"], walk_in)]
    ).astype(object)
    appt_status = rng.choice(APPOINTMENT_STATUSES, a, p=APPOINTMENT_STATUS_WEIGHTS).astype(object)
    booking_uid = _ids("bk_", appointment_id, rng.integers(0, 2**32, a))
    appt_deleted = np.full(a, np.nan)
    starts = appt_created + rng.integers(1, 15, a) * 86_400e6
    appt_metadata_call = appt_call.copy()

    call_appointment = np.zeros(n, dtype=np.int64)
    call_appointment[booked_calls - 1] = appointment_id[:b]
    call_booking_id = np.full(n, None, dtype=object)
    call_booking_id[booked_calls - 1] = booking_uid[:b]
    appointment_of_call = dict(zip(booked_calls.tolist(), appointment_id[:b].tolist(), strict=True))

    truth: list[Truth] = []
    pools = _Pools(rng, booked_calls, call_id[~booked])

    # Healthy soft deletes. Deleted calls (with their appointments) carry decoy defects that a
    # rule must skip; a cancelled appointment removed alone leaves its call consistently unlinked.
    deleted = np.concatenate(
        [pools.take("booked", int(b * 0.01)), pools.take("unbooked", int((n - b) * 0.01))]
    )
    call_deleted[deleted - 1] = ended[deleted - 1] + 3_600e6
    decoy = deleted[rng.random(len(deleted)) < 0.3]
    direction[decoy - 1] = None
    for c in deleted[booked[deleted - 1]]:
        appt_deleted[appointment_of_call[c] - 1] = call_deleted[c - 1]
    cancelled = pools.take("booked", int(b * 0.01))
    for c in cancelled:
        appt = appointment_of_call[c]
        appt_deleted[appt - 1] = ended[c - 1] + 86_400e6
        appt_status[appt - 1] = "cancelled"
    made[cancelled - 1] = False
    outcome[cancelled - 1] = "appointment_cancelled"
    link_status[cancelled - 1] = "unlinked"
    call_appointment[cancelled - 1] = 0

    budget = {family: round(n * spec.defect_rate * share) for family, share in DEFECT_MIX.items()}
    if k < 2:
        budget["cross_tenant_link"] = 0

    def draw(family: str) -> np.ndarray:
        count = budget[family]
        if FAMILY_POOL[family] != "any":
            return pools.take(FAMILY_POOL[family], count)
        from_booked = round(count * BOOKED_SHARE)
        return np.concatenate(
            [pools.take("booked", from_booked), pools.take("unbooked", count - from_booked)]
        )

    def note(rule: str, entity_type: str, ids: Iterable[int], column: str | None = None) -> None:
        truth.extend(Truth(rule, entity_type, int(i), column) for i in ids)

    calls_hit = draw("missing_direction")
    direction[calls_hit - 1] = np.where(rng.random(len(calls_hit)) < 0.5, None, "")
    note("missing_direction", "call", calls_hit)

    calls_hit = draw("session_outcome_mismatch")
    made[calls_hit - 1] = False
    note("session_outcome_mismatch", "call", calls_hit)

    calls_hit = draw("missing_appointment")  # a phantom booking: flags say booked, nothing exists
    made[calls_hit - 1] = True
    outcome[calls_hit - 1] = "appointment_booked"
    link_status[calls_hit - 1] = "linked"
    note("missing_appointment", "call", calls_hit)

    calls_hit = draw("inconsistent_link_status")
    link_status[calls_hit - 1] = rng.choice(
        ["pending_creation", "unlinked", "creation_failed"], len(calls_hit)
    )
    note("inconsistent_link_status", "call", calls_hit)

    calls_hit = draw("booking_failure")
    booking_failed[calls_hit - 1] = True
    failure_reason[calls_hit - 1] = rng.choice(FAILURE_REASONS, len(calls_hit))
    outcome[calls_hit - 1] = "creation_failed"
    link_status[calls_hit - 1] = "creation_failed"
    note("booking_failure", "call", calls_hit)

    # Orphans: the webhook wrote the appointment without its call; the call never learnt of it.
    # Four in five can still be matched through the booking id the call kept.
    calls_hit = draw("orphaned_appointment")
    appts = np.array([appointment_of_call[c] for c in calls_hit], dtype=np.int64)
    appt_call[appts - 1] = 0
    unmatchable = rng.random(len(calls_hit)) < 0.2
    appt_metadata_call[appts[unmatchable] - 1] = 0
    call_booking_id[calls_hit[unmatchable] - 1] = None
    made[calls_hit - 1] = False
    outcome[calls_hit - 1] = None
    link_status[calls_hit - 1] = "pending_creation"
    call_appointment[calls_hit - 1] = 0
    note("orphaned_appointment", "appointment", appts)

    # Back-reference to another call's appointment, or to an appointment that does not exist.
    calls_hit = draw("link_backref_mismatch")
    elsewhere = pools.take("booked", len(calls_hit) // 2)
    call_appointment[calls_hit[: len(elsewhere)] - 1] = [appointment_of_call[c] for c in elsewhere]
    call_appointment[calls_hit[len(elsewhere) :] - 1] = (
        a + 1_000 + np.arange(len(calls_hit) - len(elsewhere))
    )
    note("link_backref_mismatch", "call", calls_hit)

    # Appointment of a call that was soft-deleted, or removed outright.
    calls_hit = draw("appointment_call_missing")
    half = len(calls_hit) // 2
    call_deleted[calls_hit[:half] - 1] = ended[calls_hit[:half] - 1] + 7_200e6
    keep_call[calls_hit[half:] - 1] = False
    note("appointment_call_missing", "appointment", [appointment_of_call[c] for c in calls_hit])

    calls_hit = draw("cross_tenant_link")
    appts = np.array([appointment_of_call[c] for c in calls_hit], dtype=np.int64)
    appt_company[appts - 1] = appt_company[appts - 1] % k + 1
    note("cross_tenant_link", "appointment", appts)

    # Two live appointments sharing one booking id: both are findings.
    calls_hit = draw("duplicate_booking_id")
    partners = pools.take("booked", len(calls_hit))
    appts = np.array([appointment_of_call[c] for c in calls_hit], dtype=np.int64)
    partner_appts = np.array([appointment_of_call[c] for c in partners], dtype=np.int64)
    booking_uid[appts - 1] = booking_uid[partner_appts - 1]
    call_booking_id[calls_hit - 1] = booking_uid[partner_appts - 1]
    note("duplicate_booking_id", "appointment", np.concatenate([appts, partner_appts]))

    calls_hit = draw("invalid_value")
    on_appointment = booked[calls_hit - 1]
    appts = np.array([appointment_of_call[c] for c in calls_hit[on_appointment]], dtype=np.int64)
    appt_status[appts - 1] = INVALID_APPOINTMENT_STATUS
    note("invalid_value", "appointment", appts, "status")
    unbooked_hit = calls_hit[~on_appointment]
    which = rng.integers(0, len(INVALID_CALL_VALUES), len(unbooked_hit))
    arrays = {
        "direction": direction,
        "session_outcome": outcome,
        "customer_link_status": customer_link,
        "appointment_link_status": link_status,
    }
    for index, (column, value) in enumerate(INVALID_CALL_VALUES):
        hit = unbooked_hit[which == index]
        arrays[column][hit - 1] = value
        note("invalid_value", "call", hit, column)

    linked = call_appointment > 0
    retell_ids = _ids("call_", call_id, rng.integers(0, 2**32, n))
    recorded = appt_metadata_call > 0
    appt_metadata = np.full(a, None, dtype=object)
    appt_metadata[recorded] = (
        '{"call_id": '
        + pd.Series(appt_metadata_call[recorded]).astype(str)
        + ', "retell_call_id": "'
        + retell_ids[appt_metadata_call[recorded] - 1]
        + '"}'
    ).to_numpy()
    calls = pd.DataFrame(
        {
            "id": call_id,
            "company_id": company,
            "retell_call_id": retell_ids,
            "from_number": np.where(
                anonymous,
                None,
                "+4917" + pd.Series(rng.integers(10_000_000, 99_999_999, n)).astype(str),
            ),
            "to_number": "+49800" + pd.Series(company).astype(str).str.zfill(6),
            "direction": direction,
            "duration_sec": duration,
            "customer_id": _with_nulls(customer, customer == 0),
            "customer_link_status": customer_link,
            "customer_link_method": np.where(has_customer, "phone_match", None),
            "customer_link_confidence": np.where(has_customer, "100.00", None),
            "customer_linked_at": _timestamps(np.where(has_customer, created, np.nan)),
            "appointment_made": made,
            "appointment_id": _with_nulls(call_appointment, ~linked),
            "appointment_link_status": link_status,
            "appointment_linked_at": _timestamps(
                np.where(link_status == "linked", ended, np.nan).astype(float)
            ),
            "session_outcome": outcome,
            "booking_id": call_booking_id,
            "booking_failed": booking_failed,
            "booking_failure_reason": failure_reason,
            "requires_manual_processing": booking_failed,
            "created_at": _timestamps(created),
            "updated_at": _timestamps(ended),
            "deleted_at": _timestamps(call_deleted),
        }
    )[keep_call]
    appointments = pd.DataFrame(
        {
            "id": appointment_id,
            "company_id": appt_company,
            "customer_id": _with_nulls(appt_customer, appt_customer == 0),
            "call_id": _with_nulls(appt_call, appt_call == 0),
            "calcom_v2_booking_id": booking_uid,
            "source": appt_source,
            "status": appt_status,
            "starts_at": _timestamps(starts),
            "ends_at": _timestamps(starts + 1_800e6),
            "metadata": appt_metadata,
            "created_at": _timestamps(appt_created),
            "updated_at": _timestamps(appt_created),
            "deleted_at": _timestamps(appt_deleted),
        }
    )
    return GeneratedData(
        tables={
            "companies": companies,
            "customers": customers,
            "calls": calls,
            "appointments": appointments,
        },
        truth=sorted(truth, key=lambda t: (t.rule, t.entity_type, t.entity_id, t.column or "")),
    )
