"""Synthetic booking data with planted defects and their ground truth.

The generator is vectorised (numpy) and deterministic: the same ``SeedSpec`` gives the same rows,
the same ids and the same truth file. Rows go to PostgreSQL with COPY in one transaction, with
triggers off (``session_replication_role = replica``), exactly as a bulk import would be done, so
the planted defects stay in the data for the monitor to find.

Each detection rule has one planter (``PLANTERS``, keyed by rule id) and one share of the planted
defects (``DEFECT_MIX``); a new rule adds both, next to each other, and nothing else here. Every
planted defect is shaped to break exactly the rule it is planted for and no other; healthy rows
break none. Soft-deleted rows carry decoy defects that the rules must skip.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from psycopg import sql

from booking_guard.db import connect
from booking_guard.errors import BookingGuardError

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

# SQL NULL in an object column, in a form numpy's typed np.where accepts.
NULL = np.array(None, dtype=object)
Ids = npt.NDArray[np.int64]  # 0 stands for NULL where a column is nullable
Flags = npt.NDArray[np.bool_]
Texts = npt.NDArray[np.object_]  # None is NULL
Micros = npt.NDArray[np.float64]  # epoch microseconds, NaN is NULL
# Which calls a rule's defect is planted on: booked (has an appointment), unbooked, or either.
Pool = Literal["booked", "unbooked", "any"]

BOOKED_SHARE = 0.35
CHUNK_ROWS = 100_000
# Above this the pool of healthy booked calls runs out for the booked-only rules.
MAX_DEFECT_RATE = 0.25
REFERENCE_SCHEMA_MARKER = "booking-guard reference schema"
# Tables of booking-guard itself that a reseed empties when the migrations have created them.
MONITOR_TABLES = (
    "data_consistency_alerts",
    "manual_review_queue",
    "manual_review_history",
    "circuit_breaker_states",
    "bg_notification_throttle",
    "bg_check_runs",
)

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
        record: dict[str, str | int] = {
            "rule": self.rule,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
        }
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
        present = [
            sql.Identifier(name)
            for (name,) in conn.execute(
                "SELECT name FROM unnest(%s::text[]) name WHERE to_regclass(name) IS NOT NULL",
                (list(MONITOR_TABLES),),
            )
        ]
        if present:
            conn.execute(
                sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(sql.SQL(", ").join(present))
            )
        for table, frame in data.tables.items():
            _copy(conn, table, frame)
            if len(frame):
                conn.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                    (table, int(frame["id"].max())),
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


def _require_reference_schema(conn: psycopg.Connection[TupleRow]) -> None:
    row = conn.execute("SELECT obj_description(to_regclass('calls'), 'pg_class')").fetchone()
    if row is None or row[0] != REFERENCE_SCHEMA_MARKER:
        raise BookingGuardError(
            "seed replaces all booking data and only runs on a database whose schema was installed"
            " by `booking-guard app-schema` (no reference-schema marker on table calls)"
        )


def _copy(conn: psycopg.Connection[TupleRow], table: str, frame: pd.DataFrame) -> None:
    statement = sql.SQL(
        "COPY {} ({}) FROM STDIN (FORMAT csv, DELIMITER E'\\t', NULL '\\N', FREEZE)"
    ).format(sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, frame.columns)))
    with conn.cursor().copy(statement) as copy:
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


def generate(spec: SeedSpec) -> GeneratedData:
    """Build every table in memory (positions are ids - 1) and the ground truth.

    The steps run in a fixed order because together they consume one random stream: that order
    is what makes a seed's data, so a new step goes last.
    """
    rng = np.random.default_rng(spec.random_seed)
    customers = _customers(rng, spec)
    calls = _clean_calls(rng, spec, customers["company_id"].to_numpy())
    draft = Draft(rng, spec.companies, calls, _clean_appointments(rng, spec, calls))
    pools = _Pools(rng, draft.calls)
    _soft_delete(draft, pools)
    truth = [
        row
        for rule, planting in _choose(pools, spec).items()
        for row in PLANTERS[rule].plant(draft, planting)
    ]
    tables = {"companies": _companies(spec), "customers": customers, **draft.frames()}
    return GeneratedData(
        tables=tables,
        truth=sorted(truth, key=lambda t: (t.rule, t.entity_type, t.entity_id, t.column or "")),
    )


# --- The clean base data ------------------------------------------------------------------------


@dataclass
class CallColumns:
    """The calls table as arrays (position = id - 1), plus what planting needs to know of them."""

    id: Ids
    company_id: Ids
    created: Micros
    ended: Micros
    duration: Ids
    customer: Ids
    has_customer: Flags
    anonymous: Flags
    booked: Flags  # booked as generated: has an appointment of its own
    direction: Texts
    session_outcome: Texts
    appointment_link_status: Texts
    customer_link_status: Texts
    appointment_made: Flags
    booking_failed: Flags
    booking_failure_reason: Texts
    deleted_at: Micros
    kept: Flags  # False: the call is removed outright
    appointment_id: Ids  # the back-reference as written
    booking_id: Texts
    own_appointment: Ids  # its appointment as generated, whatever a planter does to the link

    def frame(self, retell_ids: Texts, phone_numbers: Texts) -> pd.DataFrame:
        linked = self.appointment_id > 0
        linked_at = np.where(self.appointment_link_status == "linked", self.ended, np.nan)
        return pd.DataFrame(
            {
                "id": self.id,
                "company_id": self.company_id,
                "retell_call_id": retell_ids,
                "from_number": np.where(self.anonymous, NULL, phone_numbers),
                "to_number": "+49800" + pd.Series(self.company_id).astype(str).str.zfill(6),
                "direction": self.direction,
                "duration_sec": self.duration,
                "customer_id": _with_nulls(self.customer, self.customer == 0),
                "customer_link_status": self.customer_link_status,
                "customer_link_method": np.where(self.has_customer, "phone_match", NULL),
                "customer_link_confidence": np.where(self.has_customer, "100.00", NULL),
                "customer_linked_at": _timestamps(
                    np.where(self.has_customer, self.created, np.nan)
                ),
                "appointment_made": self.appointment_made,
                "appointment_id": _with_nulls(self.appointment_id, ~linked),
                "appointment_link_status": self.appointment_link_status,
                "appointment_linked_at": _timestamps(linked_at.astype(float)),
                "session_outcome": self.session_outcome,
                "booking_id": self.booking_id,
                "booking_failed": self.booking_failed,
                "booking_failure_reason": self.booking_failure_reason,
                "requires_manual_processing": self.booking_failed,
                "created_at": _timestamps(self.created),
                "updated_at": _timestamps(self.ended),
                "deleted_at": _timestamps(self.deleted_at),
            }
        )[self.kept]


@dataclass
class AppointmentColumns:
    """The appointments table as arrays (position = id - 1)."""

    id: Ids
    company_id: Ids
    created: Micros
    customer: Ids
    call_id: Ids
    source: Texts
    status: Texts
    booking_uid: Texts
    starts: Micros
    deleted_at: Micros
    metadata_call: Ids  # the call the booking path recorded in the metadata

    def frame(self, retell_ids: Texts) -> pd.DataFrame:
        recorded = self.metadata_call > 0
        metadata = np.full(len(self.id), None, dtype=object)
        metadata[recorded] = (
            '{"call_id": '
            + pd.Series(self.metadata_call[recorded]).astype(str)
            + ', "retell_call_id": "'
            + retell_ids[self.metadata_call[recorded] - 1]
            + '"}'
        ).to_numpy()
        return pd.DataFrame(
            {
                "id": self.id,
                "company_id": self.company_id,
                "customer_id": _with_nulls(self.customer, self.customer == 0),
                "call_id": _with_nulls(self.call_id, self.call_id == 0),
                "calcom_v2_booking_id": self.booking_uid,
                "source": self.source,
                "status": self.status,
                "starts_at": _timestamps(self.starts),
                "ends_at": _timestamps(self.starts + 1_800e6),
                "metadata": metadata,
                "created_at": _timestamps(self.created),
                "updated_at": _timestamps(self.created),
                "deleted_at": _timestamps(self.deleted_at),
            }
        )


@dataclass
class Draft:
    """The data set being built, which the planters edit in place."""

    rng: np.random.Generator
    companies: int
    calls: CallColumns
    appointments: AppointmentColumns

    def frames(self) -> dict[str, pd.DataFrame]:
        """The calls and appointments tables; draws the calls' external ids and phone numbers."""
        n = len(self.calls.id)
        retell_ids = _ids("call_", self.calls.id, self.rng.integers(0, 2**32, n))
        phone_numbers = (
            "+4917" + pd.Series(self.rng.integers(10_000_000, 99_999_999, n)).astype(str)
        ).to_numpy(dtype=object)
        return {
            "calls": self.calls.frame(retell_ids, phone_numbers),
            "appointments": self.appointments.frame(retell_ids),
        }


def _window(spec: SeedSpec) -> tuple[float, float]:
    """The anchor and the span of the data, in microseconds."""
    return spec.anchor.timestamp() * 1e6, spec.days * 86_400e6


def _companies(spec: SeedSpec) -> pd.DataFrame:
    k = spec.companies
    anchor_us, span_us = _window(spec)
    created = _timestamps(np.full(k, anchor_us - span_us - 86_400e6))
    return pd.DataFrame(
        {
            "id": np.arange(1, k + 1),
            "name": [f"Company {i}" for i in range(1, k + 1)],
            "created_at": created,
            "updated_at": created,
        }
    )


def _customers(rng: np.random.Generator, spec: SeedSpec) -> pd.DataFrame:
    """Customers in contiguous blocks per company, so a call picks one of its own tenant."""
    k = spec.companies
    m = max(k, spec.calls // 4)
    anchor_us, span_us = _window(spec)
    first = rng.choice(FIRST_NAMES, m)
    last = rng.choice(LAST_NAMES, m)
    created = _timestamps(np.full(m, anchor_us - span_us))
    return pd.DataFrame(
        {
            "id": np.arange(1, m + 1),
            "company_id": 1 + (np.arange(m) * k) // m,
            "name": pd.Series(first) + " " + pd.Series(last),
            "phone": "+4930" + pd.Series(rng.integers(1_000_000, 9_999_999, m)).astype(str),
            "email": (
                pd.Series(first).str.lower() + "." + pd.Series(np.arange(1, m + 1)).astype(str)
            )
            + "@example.com",
            "created_at": created,
            "updated_at": created,
        }
    )


def _clean_calls(rng: np.random.Generator, spec: SeedSpec, customer_company: Ids) -> CallColumns:
    """Healthy calls, ids following time; about a third book an appointment (linked later)."""
    n, k = spec.calls, spec.companies
    anchor_us, span_us = _window(spec)
    block_start = np.searchsorted(customer_company, np.arange(1, k + 1))
    block_size = np.diff(np.append(block_start, len(customer_company)))
    company = rng.integers(1, k + 1, n)
    created = anchor_us - np.sort(rng.random(n))[::-1] * span_us
    duration = rng.integers(15, 600, n)
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
    return CallColumns(
        id=np.arange(1, n + 1),
        company_id=company,
        created=created,
        ended=np.minimum(created + duration * 1e6, anchor_us),
        duration=duration,
        customer=customer,
        has_customer=has_customer,
        anonymous=anonymous,
        booked=booked,
        direction=direction,
        session_outcome=outcome,
        appointment_link_status=np.where(booked, "linked", "not_applicable").astype(object),
        customer_link_status=np.where(
            has_customer, "linked", np.where(anonymous, "anonymous", "unlinked")
        ).astype(object),
        appointment_made=booked.copy(),
        booking_failed=np.zeros(n, dtype=bool),
        booking_failure_reason=np.full(n, None, dtype=object),
        deleted_at=np.full(n, np.nan),
        kept=np.ones(n, dtype=bool),
        appointment_id=np.zeros(n, dtype=np.int64),
        booking_id=np.full(n, None, dtype=object),
        own_appointment=np.zeros(n, dtype=np.int64),
    )


def _clean_appointments(
    rng: np.random.Generator, spec: SeedSpec, calls: CallColumns
) -> AppointmentColumns:
    """The appointments of the booked calls, linked both ways, then 3 % booked outside any call."""
    n, k = spec.calls, spec.companies
    anchor_us, span_us = _window(spec)
    booked = calls.booked
    booked_calls = calls.id[booked]
    b = len(booked_calls)
    walk_in = int(n * 0.03)
    a = b + walk_in
    appointment_id = np.arange(1, a + 1)
    call_id = np.concatenate([booked_calls, np.zeros(walk_in, dtype=np.int64)])
    company = np.concatenate([calls.company_id[booked], rng.integers(1, k + 1, walk_in)])
    created = np.concatenate(
        [
            calls.created[booked] + rng.random(b) * (calls.ended[booked] - calls.created[booked]),
            anchor_us - rng.random(walk_in) * span_us,
        ]
    )
    source = np.concatenate(
        [np.full(b, "retell_webhook"), rng.choice(["calcom_web", "manual"], walk_in)]
    ).astype(object)
    status = rng.choice(APPOINTMENT_STATUSES, a, p=APPOINTMENT_STATUS_WEIGHTS).astype(object)
    booking_uid = _ids("bk_", appointment_id, rng.integers(0, 2**32, a))
    starts = created + rng.integers(1, 15, a) * 86_400e6

    calls.own_appointment[booked_calls - 1] = appointment_id[:b]
    calls.appointment_id[booked_calls - 1] = appointment_id[:b]
    calls.booking_id[booked_calls - 1] = booking_uid[:b]
    return AppointmentColumns(
        id=appointment_id,
        company_id=company,
        created=created,
        customer=np.concatenate([calls.customer[booked], np.zeros(walk_in, dtype=np.int64)]),
        call_id=call_id,
        source=source,
        status=status,
        booking_uid=booking_uid,
        starts=starts,
        deleted_at=np.full(a, np.nan),
        metadata_call=call_id.copy(),
    )


class _Pools:
    """Disjoint draws of calls for planting: a call carries at most one defect."""

    def __init__(self, rng: np.random.Generator, calls: CallColumns) -> None:
        self._calls = {
            "booked": rng.permutation(calls.id[calls.booked]),
            "unbooked": rng.permutation(calls.id[~calls.booked]),
        }
        self._taken = {"booked": 0, "unbooked": 0}

    def take(self, pool: Literal["booked", "unbooked"], count: int) -> Ids:
        """The next ``count`` calls of the pool (fewer when it runs out)."""
        start = self._taken[pool]
        self._taken[pool] = start + count
        return self._calls[pool][start : start + count]

    def draw(self, pool: Pool, count: int) -> Ids:
        """``count`` calls for one rule; from either pool in the data's booked share."""
        if pool != "any":
            return self.take(pool, count)
        from_booked = round(count * BOOKED_SHARE)
        return np.concatenate(
            [self.take("booked", from_booked), self.take("unbooked", count - from_booked)]
        )


def _soft_delete(draft: Draft, pools: _Pools) -> None:
    """Healthy soft deletes: 1 % of calls with their appointments, 1 % of appointments alone.

    Deleted calls carry decoy defects that a rule must skip; a cancelled appointment removed alone
    leaves its call consistently unlinked.
    """
    calls, appointments = draft.calls, draft.appointments
    booked = int(calls.booked.sum())
    unbooked = len(calls.id) - booked
    deleted = np.concatenate(
        [pools.take("booked", int(booked * 0.01)), pools.take("unbooked", int(unbooked * 0.01))]
    )
    calls.deleted_at[deleted - 1] = calls.ended[deleted - 1] + 3_600e6
    decoy = deleted[draft.rng.random(len(deleted)) < 0.3]
    calls.direction[decoy - 1] = None
    with_appointment = deleted[calls.booked[deleted - 1]]
    appointments.deleted_at[calls.own_appointment[with_appointment - 1] - 1] = calls.deleted_at[
        with_appointment - 1
    ]

    cancelled = pools.take("booked", int(booked * 0.01))
    removed = calls.own_appointment[cancelled - 1]
    appointments.deleted_at[removed - 1] = calls.ended[cancelled - 1] + 86_400e6
    appointments.status[removed - 1] = "cancelled"
    calls.appointment_made[cancelled - 1] = False
    calls.session_outcome[cancelled - 1] = "appointment_cancelled"
    calls.appointment_link_status[cancelled - 1] = "unlinked"
    calls.appointment_id[cancelled - 1] = 0


# --- The planted defects: one planter and one share per rule ------------------------------------


@dataclass(frozen=True)
class Planting:
    """The calls chosen for one rule's defects, and the healthy booked calls some pair them with."""

    rule: str
    calls: Ids
    partners: Ids

    def findings(self, entity_type: str, ids: Ids, column: str | None = None) -> list[Truth]:
        """The truth rows of this rule for the given entities."""
        return [Truth(self.rule, entity_type, int(i), column) for i in ids]


PlantFunction = Callable[[Draft, Planting], list[Truth]]


@dataclass(frozen=True)
class Planter:
    """How one rule's defects are planted.

    ``plant`` puts one defect on each chosen call (or its appointment) and returns the truth rows
    it creates; ``pool`` says which calls can carry it; ``partners_per_call`` healthy booked calls
    (rounded down) are drawn with them for defects that involve a second call; with fewer than
    ``min_companies`` tenants the rule gets no defects.
    """

    plant: PlantFunction
    pool: Pool
    partners_per_call: float = 0.0
    min_companies: int = 1


# Share of the planted defects per rule: most are the trivially correctable kinds.
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
# In registration order, which is the order calls are drawn and planted in: a new rule goes last,
# so that existing seeds keep their data.
PLANTERS: dict[str, Planter] = {}


def _plants(
    rule: str, pool: Pool, *, partners_per_call: float = 0.0, min_companies: int = 1
) -> Callable[[PlantFunction], PlantFunction]:
    """Register the decorated function as the planter of ``rule``."""

    def register(plant: PlantFunction) -> PlantFunction:
        PLANTERS[rule] = Planter(plant, pool, partners_per_call, min_companies)
        return plant

    return register


def _choose(pools: _Pools, spec: SeedSpec) -> dict[str, Planting]:
    """Which calls get which rule's defect: disjoint draws, rule by rule in registry order."""
    chosen: dict[str, Planting] = {}
    for rule, planter in PLANTERS.items():
        count = round(spec.calls * spec.defect_rate * DEFECT_MIX[rule])
        if spec.companies < planter.min_companies:
            count = 0
        calls = pools.draw(planter.pool, count)
        partners = pools.take("booked", int(len(calls) * planter.partners_per_call))
        chosen[rule] = Planting(rule, calls, partners)
    return chosen


@_plants("missing_direction", "any")
def _missing_direction(draft: Draft, planting: Planting) -> list[Truth]:
    """Direction NULL or empty, half each."""
    calls = planting.calls
    draft.calls.direction[calls - 1] = np.where(draft.rng.random(len(calls)) < 0.5, NULL, "")
    return planting.findings("call", calls)


@_plants("session_outcome_mismatch", "booked")
def _session_outcome_mismatch(draft: Draft, planting: Planting) -> list[Truth]:
    """Outcome says booked, the flag says not made."""
    draft.calls.appointment_made[planting.calls - 1] = False
    return planting.findings("call", planting.calls)


@_plants("missing_appointment", "unbooked")
def _missing_appointment(draft: Draft, planting: Planting) -> list[Truth]:
    """A phantom booking: the flags say booked, no appointment exists."""
    rows = planting.calls - 1
    draft.calls.appointment_made[rows] = True
    draft.calls.session_outcome[rows] = "appointment_booked"
    draft.calls.appointment_link_status[rows] = "linked"
    return planting.findings("call", planting.calls)


@_plants("inconsistent_link_status", "booked")
def _inconsistent_link_status(draft: Draft, planting: Planting) -> list[Truth]:
    """Booked, but the link status is stuck at another state."""
    draft.calls.appointment_link_status[planting.calls - 1] = draft.rng.choice(
        ["pending_creation", "unlinked", "creation_failed"], len(planting.calls)
    )
    return planting.findings("call", planting.calls)


@_plants("booking_failure", "unbooked")
def _booking_failure(draft: Draft, planting: Planting) -> list[Truth]:
    """The calendar API refused the booking."""
    rows = planting.calls - 1
    draft.calls.booking_failed[rows] = True
    draft.calls.booking_failure_reason[rows] = draft.rng.choice(FAILURE_REASONS, len(rows))
    draft.calls.session_outcome[rows] = "creation_failed"
    draft.calls.appointment_link_status[rows] = "creation_failed"
    return planting.findings("call", planting.calls)


@_plants("orphaned_appointment", "booked")
def _orphaned_appointment(draft: Draft, planting: Planting) -> list[Truth]:
    """The webhook wrote the appointment without its call; the call never learnt of it.

    Four in five can still be matched through the booking id the call kept.
    """
    calls = draft.calls
    hit = planting.calls
    appointments = calls.own_appointment[hit - 1]
    draft.appointments.call_id[appointments - 1] = 0
    unmatchable = draft.rng.random(len(hit)) < 0.2
    draft.appointments.metadata_call[appointments[unmatchable] - 1] = 0
    calls.booking_id[hit[unmatchable] - 1] = None
    calls.appointment_made[hit - 1] = False
    calls.session_outcome[hit - 1] = None
    calls.appointment_link_status[hit - 1] = "pending_creation"
    calls.appointment_id[hit - 1] = 0
    return planting.findings("appointment", appointments)


@_plants("link_backref_mismatch", "booked", partners_per_call=0.5)
def _link_backref_mismatch(draft: Draft, planting: Planting) -> list[Truth]:
    """The back-reference names another call's appointment, or one that does not exist."""
    hit, partners = planting.calls, planting.partners
    elsewhere, nowhere = hit[: len(partners)], hit[len(partners) :]
    draft.calls.appointment_id[elsewhere - 1] = draft.calls.own_appointment[partners - 1]
    draft.calls.appointment_id[nowhere - 1] = (
        len(draft.appointments.id) + 1_000 + np.arange(len(nowhere))
    )
    return planting.findings("call", hit)


@_plants("appointment_call_missing", "booked")
def _appointment_call_missing(draft: Draft, planting: Planting) -> list[Truth]:
    """The appointment's call was soft-deleted (half of them) or removed outright."""
    calls = draft.calls
    hit = planting.calls
    half = len(hit) // 2
    calls.deleted_at[hit[:half] - 1] = calls.ended[hit[:half] - 1] + 7_200e6
    calls.kept[hit[half:] - 1] = False
    return planting.findings("appointment", calls.own_appointment[hit - 1])


@_plants("cross_tenant_link", "booked", min_companies=2)
def _cross_tenant_link(draft: Draft, planting: Planting) -> list[Truth]:
    """The appointment belongs to the next company, its call to its own."""
    appointments = draft.calls.own_appointment[planting.calls - 1]
    company = draft.appointments.company_id
    company[appointments - 1] = company[appointments - 1] % draft.companies + 1
    return planting.findings("appointment", appointments)


@_plants("duplicate_booking_id", "booked", partners_per_call=1.0)
def _duplicate_booking_id(draft: Draft, planting: Planting) -> list[Truth]:
    """Two live appointments share one booking id: both are findings."""
    own = draft.calls.own_appointment
    appointments = own[planting.calls - 1]
    partner_appointments = own[planting.partners - 1]
    shared = draft.appointments.booking_uid[partner_appointments - 1]
    draft.appointments.booking_uid[appointments - 1] = shared
    draft.calls.booking_id[planting.calls - 1] = shared
    return planting.findings("appointment", np.concatenate([appointments, partner_appointments]))


@_plants("invalid_value", "any")
def _invalid_value(draft: Draft, planting: Planting) -> list[Truth]:
    """An out-of-set status on a booked call's appointment, else a value on the call itself."""
    calls = draft.calls
    hit = planting.calls
    on_appointment = calls.booked[hit - 1]
    appointments = calls.own_appointment[hit[on_appointment] - 1]
    draft.appointments.status[appointments - 1] = INVALID_APPOINTMENT_STATUS
    truth = planting.findings("appointment", appointments, "status")
    on_call = hit[~on_appointment]
    which = draft.rng.integers(0, len(INVALID_CALL_VALUES), len(on_call))
    columns = {
        "direction": calls.direction,
        "session_outcome": calls.session_outcome,
        "customer_link_status": calls.customer_link_status,
        "appointment_link_status": calls.appointment_link_status,
    }
    for index, (column, value) in enumerate(INVALID_CALL_VALUES):
        chosen = on_call[which == index]
        columns[column][chosen - 1] = value
        truth += planting.findings("call", chosen, column)
    return truth


# --- Column helpers -----------------------------------------------------------------------------


def _timestamps(epoch_us: Micros) -> Texts:
    """ISO-8601 UTC text (PostgreSQL reads it as timestamptz); NaN stays NULL."""
    valid = ~np.isnan(epoch_us)
    out = np.full(epoch_us.shape, None, dtype=object)
    stamps = epoch_us[valid].astype("int64").astype("datetime64[us]")
    out[valid] = np.datetime_as_string(stamps, unit="us", timezone="UTC")
    return out


def _with_nulls(values: Ids, mask: Flags) -> Texts:
    out = values.astype(object)
    out[mask] = None
    return out


def _ids(prefix: str, ids: Ids, salt: Ids) -> Texts:
    """Unique, id-derived identifiers that do not look sequential (text even when empty)."""
    digits = pd.Series(ids).map("{:08d}".format) + pd.Series(salt).map("{:08x}".format)
    out: Texts = (prefix + digits.astype(str)).to_numpy(dtype=object)
    return out
