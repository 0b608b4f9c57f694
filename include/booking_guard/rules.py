"""What a detection rule is: its declaration in ``sql/rules/rules.yml``, its SQL, its scopes.

A rule is one SQL file plus one entry in the registry file; everything else (the engine in
``detection``, the alerts, the Great Expectations suite, check-call, the seeder) reads the
registry. Each query returns ``entity_type, entity_id, company_id, column_name, detail`` and
carries scope placeholders that a run fills in, like dbt's ``is_incremental()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import yaml

from booking_guard.errors import BookingGuardError
from booking_guard.resources import load_sql, sql_files
from booking_guard.severity import Severity

if TYPE_CHECKING:
    from psycopg.sql import Composed

EntityType = Literal["call", "appointment", "call or appointment"]
REGISTRY_FILE = "rules/rules.yml"


class ScopeKind(StrEnum):
    """How much of the database a run looks at."""

    FULL = "full"  # every live row
    INCREMENTAL = "incremental"  # rows changed in a window (the 5-minute DAG)
    ENTITY = "entity"  # given calls and appointments (check-call, the review queue)


# The placeholders of a rule's SQL, per scope kind. The window and entity scopes read the temp
# tables that ``_scope_window.sql`` and ``_scope_entities.sql`` fill once per session.
_TEMP_SCOPE = {
    "call_scope": "c.id IN (SELECT id FROM pg_temp.bg_scope_calls)",
    "appointment_scope": "a.id IN (SELECT id FROM pg_temp.bg_scope_appointments)",
    "booking_scope": (
        "calcom_v2_booking_id IN (SELECT s.calcom_v2_booking_id FROM appointments s"
        " JOIN pg_temp.bg_scope_appointments w ON w.id = s.id)"
    ),
}
PLACEHOLDERS: dict[ScopeKind, dict[str, str]] = {
    ScopeKind.FULL: dict.fromkeys(_TEMP_SCOPE, "TRUE"),
    ScopeKind.INCREMENTAL: _TEMP_SCOPE,
    ScopeKind.ENTITY: _TEMP_SCOPE,
}


@dataclass(frozen=True)
class Shard:
    """One of ``count`` parts of a full scan: the companies whose id modulo ``count`` is
    ``index``."""

    index: int
    count: int

    def placeholders(self) -> dict[str, str]:
        part = f"{int(self.count)}) = {int(self.index)}"
        return {
            "call_scope": f"mod(c.company_id, {part}",
            "appointment_scope": f"mod(a.company_id, {part}",
        }


@dataclass(frozen=True)
class Rule:
    """One detection rule. ``id`` is also the alert type and names ``sql/rules/<id>.sql``."""

    id: str
    severity: Severity
    entity_type: EntityType
    description: str
    auto_correctable: bool
    scopes: frozenset[ScopeKind]

    @property
    def incremental(self) -> bool:
        return ScopeKind.INCREMENTAL in self.scopes

    @property
    def sql(self) -> str:
        return load_sql(f"rules/{self.id}.sql")

    @property
    def shardable(self) -> bool:
        """Whether its findings can be split by company: it filters the rows it reports on by
        the call or appointment scope. Others (a booking id shared across companies, a
        back-reference) run whole, in one shard."""
        text = self.sql
        return "{booking_scope}" not in text and (
            "{call_scope}" in text or "{appointment_scope}" in text
        )

    def query(self, scope: ScopeKind, shard: Shard | None = None) -> Composed:
        """The rule's SELECT with its scope placeholders filled in (a full scan's ``shard``
        narrows it to some companies)."""
        from psycopg.sql import SQL

        text = self.sql.strip().rstrip(";")
        values = {**PLACEHOLDERS[scope], **(shard.placeholders() if shard else {})}
        fill = {k: SQL(v) for k, v in values.items() if f"{{{k}}}" in text}
        query = SQL(text).format(**fill)
        if scope is ScopeKind.ENTITY:
            return SQL(load_sql("rules/_in_scope.sql")).format(rule=query)
        return query


RULE_ID = re.compile(r"[a-z][a-z0-9_]*")


def _rule(entry: dict[str, Any]) -> Rule:
    if not RULE_ID.fullmatch(str(entry.get("id", ""))):
        raise BookingGuardError(f"{REGISTRY_FILE}: rule id must match [a-z][a-z0-9_]*: {entry!r}")
    try:
        return Rule(
            id=str(entry["id"]),
            severity=Severity(entry["severity"]),
            entity_type=entry["entity"],
            description=str(entry["description"]),
            auto_correctable=bool(entry["correctable"]),
            scopes=frozenset(ScopeKind(s) for s in entry["scopes"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise BookingGuardError(f"{REGISTRY_FILE}: bad rule entry {entry!r}: {exc}") from None


@cache
def load_registry() -> tuple[Rule, ...]:
    """The declared rules, in declaration order; a rule without SQL file is an error."""
    entries = yaml.safe_load(load_sql(REGISTRY_FILE))["rules"]
    declared = tuple(_rule(e) for e in entries)
    files = [name for name in sql_files("rules") if name.endswith(".sql")]
    problem = registry_mismatch([r.id for r in declared], files)
    if problem:
        raise BookingGuardError(f"{REGISTRY_FILE} and sql/rules/*.sql disagree: {problem}")
    return declared


def registry_mismatch(ids: list[str], files: list[str]) -> str | None:
    """What is wrong between the declared rule ids and the rule files (``_*.sql`` are the
    engine's, not rules), or None."""
    stems = {f.removesuffix(".sql") for f in files if not f.startswith("_")}
    problems = [
        f"{what}: {', '.join(sorted(names))}"
        for what, names in (
            ("declared without a file", set(ids) - stems),
            ("a file without a declaration", stems - set(ids)),
            ("declared twice", {i for i in ids if ids.count(i) > 1}),
        )
        if names
    ]
    return "; ".join(problems) or None


RULES: tuple[Rule, ...] = load_registry()
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
