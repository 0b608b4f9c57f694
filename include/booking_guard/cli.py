"""``booking-guard``: the command-line front door to the library.

Every command calls a library function and prints its result; a failure is one line on stderr
and exit status 3.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import psycopg

from booking_guard import logs
from booking_guard.db import first_line
from booking_guard.errors import BookingGuardError
from booking_guard.settings import Settings
from booking_guard.severity import Severity

if TYPE_CHECKING:
    from booking_guard.seed import SeedSpec, SeedSummary


class ExitCode(IntEnum):
    """What every command returns; ``check`` and ``check-call`` grade their findings."""

    CLEAN = 0
    FINDINGS = 1  # warning or info findings only
    CRITICAL = 2  # at least one critical finding
    ERROR = 3  # bad input, unreachable database, missing migrations, …
    LIMIT_REACHED = 2  # correct: a rule had more findings than the blast-radius limit
    INVALID = 1  # validate-booking: the booking failed its post-booking validation

    @classmethod
    def for_findings(cls, severities: Iterable[Severity]) -> ExitCode:
        worst = Severity.worst(severities)
        if worst is None:
            return cls.CLEAN
        return cls.CRITICAL if worst is Severity.CRITICAL else cls.FINDINGS


EXIT_ERROR = ExitCode.ERROR


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _timestamp(value: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 timestamp: {value!r}") from None
    if stamp.tzinfo is None:
        raise argparse.ArgumentTypeError(f"timestamp needs a UTC offset: {value!r}")
    return stamp


def _seed_options(parser: argparse.ArgumentParser, *, default_calls: int | None) -> None:
    parser.add_argument(
        "--calls",
        type=int,
        required=default_calls is None,
        default=default_calls,
        help="number of calls to generate",
    )
    parser.add_argument("--companies", type=int, default=5, help="tenants (default 5)")
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument(
        "--defect-rate",
        type=float,
        default=0.04,
        help="share of calls with a planted defect (default 0.04, at most 0.25)",
    )
    parser.add_argument("--random-seed", type=int, default=42, help="same seed, same data")
    parser.add_argument(
        "--anchor",
        type=_timestamp,
        help="'now' of the data, ISO-8601 with offset (default: the current minute)",
    )
    parser.add_argument("--truth", type=Path, help="write the planted findings here (JSON lines)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="booking-guard", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="monitored PostgreSQL database (default: $BOOKING_GUARD_DATABASE_URL or "
        "postgresql://postgres@127.0.0.1:5432/booking_guard)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser(
        "app-schema", help="install the reference booking-app schema (demo, tests, benchmarks only)"
    )

    migrate = commands.add_parser("migrate", help="apply or revert the prevention migrations")
    direction = migrate.add_mutually_exclusive_group()
    direction.add_argument(
        "--to", default="head", metavar="TARGET", help="upgrade target (default head)"
    )
    direction.add_argument("--down", metavar="TARGET", help="revert to TARGET ('base' removes all)")
    direction.add_argument(
        "--status", action="store_true", help="show applied and pending migrations"
    )
    migrate.add_argument("--sql", action="store_true", help="print the SQL, change nothing")

    seed = commands.add_parser("seed", help="replace the demo data with synthetic, defective data")
    _seed_options(seed, default_calls=None)

    check = commands.add_parser(
        "check",
        help="run the rules; exit 0 clean, 1 warning/info findings, 2 critical, 3 error",
    )
    window = check.add_mutually_exclusive_group()
    window.add_argument("--full", action="store_true", help="scan everything (resolves alerts)")
    window.add_argument(
        "--since", type=_timestamp, help="rows changed since TIMESTAMP (default: last run)"
    )
    check.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    check.add_argument("--no-notify", action="store_true", help="record alerts, send nothing")
    check.add_argument("--no-docs", action="store_true", help="skip the Data Docs build")

    check_call = commands.add_parser(
        "check-call", help="the rules that apply to one call (no writes)"
    )
    check_call.add_argument("call_id", type=int)
    check_call.add_argument("--json", action="store_true")

    burst = commands.add_parser(
        "booking-demo",
        help="a burst of bookings through the guarded path against a local Cal.com stand-in with"
        " faults switched on: breaker transitions, validations, rollbacks, queued items",
    )
    burst.add_argument("--bookings", type=int, default=40, help="how many (default 40)")

    commands.add_parser(
        "summary",
        help="before and after: consistency of the first and the last full scan, corrections"
        " per rule, review items by priority",
    )
    validate_booking = commands.add_parser(
        "validate-booking",
        help="post-booking validation of one call; exit 0 valid, 1 invalid, 3 error",
        description="Post-booking validation of one call (BEHAVIOUR §A.1), read fresh from the"
        " database. The CLI runs as an operator: the database URL's credentials authorize it, so"
        " it presents no service token and acts for no company (programmatic callers do:"
        " booking_guard.validation.Caller).",
    )
    validate_booking.add_argument("--call-id", type=int, required=True, metavar="ID")
    validate_booking.add_argument("--appointment-id", type=int, metavar="ID")
    validate_booking.add_argument("--booking-id", metavar="UID", help="the Cal.com booking uid")
    validate_booking.add_argument("--json", action="store_true")

    status = commands.add_parser("status", help="open alerts per rule and the last check runs")
    status.add_argument("--json", action="store_true")

    _acting_parsers(commands)

    demo = commands.add_parser(
        "demo", help="main job: create the demo database, install, migrate, seed, summarise"
    )
    _seed_options(demo, default_calls=100_000)

    report = commands.add_parser(
        "report", help="the daily report of one local day: figures, history, JSON/Markdown/HTML"
    )
    report.add_argument(
        "--date",
        help="the day, YYYY-MM-DD in BOOKING_GUARD_TIMEZONE (default: the previous day)",
    )
    report.add_argument(
        "--out", type=Path, help="folder for the files (default: $BOOKING_GUARD_REPORT_DIR)"
    )
    report.add_argument("--json", action="store_true", help="the report as JSON on stdout")

    breaker = commands.add_parser("breaker", help="circuit breakers: state, manual overrides")
    breaker_actions = breaker.add_subparsers(
        dest="breaker_action", required=True, parser_class=_Parser
    )
    breaker_status = breaker_actions.add_parser("status", help="every circuit, or one")
    breaker_status.add_argument("key", nargs="?", help="circuit key, e.g. calcom")
    breaker_status.add_argument("--json", action="store_true")
    for action, text in (
        ("open", "open a circuit and hold it open until closed or reset"),
        ("close", "close a circuit; the usual rules apply again"),
        ("reset", "close a circuit and forget its history"),
    ):
        breaker_actions.add_parser(action, help=text).add_argument("key")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Its output (text or ``--json``) is the only thing on stdout: logs, and
    whatever a library prints, go to stderr, with secrets redacted."""
    args = build_parser().parse_args(argv)
    stdout = args.stdout = sys.stdout
    args.say = functools.partial(print, file=stdout)
    logs.to_stderr()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            settings = Settings.from_env(args.database_url)
            code = COMMANDS[args.command](args, settings)
        stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (`… | head`): nothing left to say, and no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.CLEAN
    except BookingGuardError as exc:
        print(f"booking-guard: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except psycopg.Error as exc:
        print(f"booking-guard: error: database: {first_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("booking-guard: interrupted", file=sys.stderr)
        return EXIT_ERROR


def _app_schema(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard import reference_schema

    reference_schema.install(settings.database_url)
    args.say("reference app schema installed")
    return ExitCode.CLEAN


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard import migrations

    url = settings.database_url
    if args.status:
        state = migrations.status(url)
        args.say(f"current: {state.current or 'base (nothing applied)'}")
        args.say(f"head:    {state.head}")
        for revision, doc in state.pending:
            args.say(f"pending: {revision} {doc.splitlines()[0]}")
        if state.up_to_date:
            args.say("up to date")
        return ExitCode.CLEAN
    if args.down:
        applied = migrations.downgrade(url, args.down, sql=args.sql, out=args.stdout)
    else:
        applied = migrations.upgrade(url, args.to, sql=args.sql, out=args.stdout)
    if not args.sql:
        for step in applied:
            args.say(f"applied {step}")
        if not applied:
            args.say("nothing to do: already at the target")
    return ExitCode.CLEAN


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.monitor import run_check

    report = run_check(
        settings,
        full=args.full,
        since=args.since,
        notify=not args.no_notify,
        build_docs=not args.no_docs,
    )
    code = ExitCode.for_findings(r.severity for r in report.rules if r.count)
    if args.json:
        data = asdict(report)
        del data["validation"]
        data |= {
            "window_start": report.window_start.isoformat() if report.window_start else None,
            "gx_success": report.validation.success,
            "data_docs": report.validation.data_docs_index,
            "exit_code": int(code),
        }
        args.say(json.dumps(data, default=str, indent=2))
        return code
    window = (
        "full scan"
        if report.mode == "full"
        else f"changes since {report.window_start:%Y-%m-%d %H:%M:%S%z}"
    )
    args.say(f"check run {report.run_id}: {window}")
    for rule in sorted(report.rules, key=lambda r: (r.severity.rank, r.rule_id)):
        sample = ", ".join(map(str, rule.sample_ids)) + (
            ", …" if rule.count > len(rule.sample_ids) else ""
        )
        args.say(f"  {rule.severity:<8} {rule.rule_id:<26} {rule.count:>8,}  {sample}")
    a = report.alerts
    args.say(f"alerts: {a.opened:,} opened, {a.seen_again:,} seen again, {a.resolved:,} resolved")
    if report.notifications:
        n = report.notifications
        args.say(
            f"notifications: {len(n.sent)} sent, {len(n.throttled)} throttled,"
            f" {len(n.failed)} failed (will retry), {len(n.timed_out)} timed out;"
            f" throttle via {n.throttle_backend}; {n.pending:,} alerts pending"
        )
    if report.validation.data_docs_index:
        args.say(f"data docs: {report.validation.data_docs_index}")
    for error in report.errors:
        print(f"booking-guard: warning: {error}", file=sys.stderr)
    return code


def _check_call(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.detection import check_call

    findings = check_call(settings.database_url, args.call_id)
    if args.json:
        issues = [
            {
                "type": f.rule.id,
                "severity": f.rule.severity,
                "description": f.rule.description,
                "call_id": args.call_id,
                "entity_type": f.entity_type,
                "entity_id": f.entity_id,
                "column": f.column,
                "detail": f.detail,
            }
            for f in findings
        ]
        args.say(json.dumps(issues, default=str, indent=2))
    else:
        for f in findings:
            column = f".{f.column}" if f.column else ""
            args.say(
                f"{f.rule.severity:<8} {f.rule.id:<26}"
                f" {f.entity_type} {f.entity_id}{column}: {f.rule.description}"
            )
        if not findings:
            args.say(f"call {args.call_id}: no issues")
    return ExitCode.for_findings(f.rule.severity for f in findings)


def _validate_booking(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.validation import validate_appointment_creation

    result = validate_appointment_creation(
        args.call_id, args.appointment_id, args.booking_id, url=settings.database_url
    )
    code = ExitCode.CLEAN if result.success else ExitCode.INVALID
    if args.json:
        args.say(json.dumps(asdict(result) | {"exit_code": int(code)}, default=str, indent=2))
    elif result.success:
        args.say(f"call {args.call_id}: valid (appointment {result.details['appointment_id']})")
    else:
        args.say(f"call {args.call_id}: invalid: {result.reason}: {result.details['description']}")
        for key, value in result.details.items():
            if key != "description":
                args.say(f"  {key}: {value}")
    return code


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.alerts import open_summary
    from booking_guard.detection import recent_runs
    from booking_guard.notifications import pending_delivery

    rows = open_summary(settings.database_url)
    runs = recent_runs(settings.database_url, limit=5)
    delivery = pending_delivery(settings)
    if args.json:
        data = {
            "open_alerts": [asdict(r) for r in rows],
            "runs": [asdict(r) for r in runs],
            "pending_notifications": [asdict(d) for d in delivery],
        }
        args.say(json.dumps(data, default=str, indent=2))
        return ExitCode.CLEAN
    args.say(f"open alerts: {sum(r.open_alerts for r in rows):,}")
    for d in delivery:
        age = f", oldest {d.oldest_minutes:,.0f} min" if d.oldest_minutes is not None else ""
        state = f" — {d.problem}" if d.problem else ""
        args.say(f"pending {d.channel} notifications: {d.pending:,}{age}{state}")
    for r in rows:
        args.say(
            f"  {r.severity:<8} {r.alert_type:<26} {r.open_alerts:>8,}"
            f"  ({r.companies} companies, {r.not_notified:,} not yet notified)"
        )
    for run in runs:
        args.say(
            f"run {run.run_id}: {run.mode:<11} {run.status:<9} {run.started_at:%Y-%m-%d %H:%M:%S}"
            f" {run.findings or 0:,} findings"
        )
    return ExitCode.CLEAN


def _booking_demo(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.booking import demo_burst
    from booking_guard.calcom_standin import CalcomStandIn

    stand_in = CalcomStandIn()
    try:
        summary = demo_burst(settings.database_url, stand_in.url, args.bookings)
    finally:
        stand_in.close()
    for line in summary.lines():
        args.say(line)
    return ExitCode.CLEAN


def _summary(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.loop import summarize

    args.say(summarize(settings.database_url).line())
    return ExitCode.CLEAN


def _seed_spec(args: argparse.Namespace) -> SeedSpec:
    from booking_guard.seed import SeedSpec

    extra = {"anchor": args.anchor} if args.anchor else {}
    return SeedSpec(
        calls=args.calls,
        companies=args.companies,
        days=args.days,
        defect_rate=args.defect_rate,
        random_seed=args.random_seed,
        **extra,
    )


def _print_seed(say: Callable[..., None], summary: SeedSummary) -> None:
    say(
        f"seeded {summary.calls:,} calls ({summary.soft_deleted_calls:,} soft-deleted), "
        f"{summary.appointments:,} appointments ({summary.soft_deleted_appointments:,} "
        f"soft-deleted), {summary.customers:,} customers, {summary.companies} companies"
    )
    say(f"planted findings: {len(summary.truth):,}")
    for rule, count in summary.findings_per_rule.items():
        say(f"  {rule:<26} {count:>8,}")


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.seed import seed

    _print_seed(args.say, seed(settings.database_url, _seed_spec(args), args.truth))
    if args.truth:
        args.say(f"ground truth written to {args.truth}")
    return ExitCode.CLEAN


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.db import redacted
    from booking_guard.demo import run_demo

    spec = _seed_spec(args)
    spec.validate()
    result = run_demo(settings.database_url, spec, args.truth)
    state = "created" if result.database_created else "exists"
    args.say(f"database {redacted(settings.database_url)} ({state})")
    args.say(f"migrations: {', '.join(result.migrations_applied) or 'already at head'}")
    _print_seed(args.say, result.seed)
    return ExitCode.CLEAN


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import date

    from booking_guard.report import render_json, run_daily

    try:
        day = date.fromisoformat(args.date) if args.date else None
    except ValueError:
        raise BookingGuardError(f"--date must be a day YYYY-MM-DD, got {args.date!r}") from None
    run = run_daily(settings, day=day, out_dir=args.out)
    if args.json:
        args.say(render_json(run.report))
        return ExitCode.CLEAN
    r = run.report
    change = r.change("consistency_rate_pct")
    args.say(
        f"report {r.period.day} ({r.period.timezone}, {r.period.hours:g} h):"
        f" consistency {r.value('consistency_rate_pct'):.2f} %"
        + ("" if change is None else f" ({change:+.2f} pt)")
        + f", {r.value('calls'):,} calls, {r.value('alerts_new'):,} new alerts"
    )
    for path in run.files.values():
        args.say(f"  {path}")
    return ExitCode.CLEAN


def _breaker(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.breaker_alerts import circuit_breaker

    if args.key is not None and not args.key.strip():
        raise BookingGuardError("the circuit key must not be empty")
    breaker = circuit_breaker(settings)
    try:
        if args.breaker_action == "status":
            rows = [breaker.get_statistics(args.key)] if args.key else breaker.overview()
        else:
            action = {"open": breaker.force_open, "close": breaker.force_close}
            action.get(args.breaker_action, breaker.reset)(args.key)
            rows = [breaker.get_statistics(args.key)]
        shared = breaker.shared_state_up
    finally:
        breaker.close()
    if not shared:
        print(
            "booking-guard: warning: Redis unreachable; state read from / stored in PostgreSQL",
            file=sys.stderr,
        )
    if args.breaker_action == "status" and args.json:
        args.say(json.dumps(rows, default=str, indent=2))
        return ExitCode.CLEAN
    for r in rows:
        opened = f"  opened {r['opened_at']:%Y-%m-%d %H:%M:%S}" if r["opened_at"] else ""
        args.say(
            f"{r['circuit_key']:<40} {r['state']:<9} failures {r['failure_count']:>3}"
            f"  successes {r['success_count']:>2}{opened}"
        )
    if not rows:
        args.say("no circuits yet")
    return ExitCode.CLEAN


def _acting_parsers(commands: Any) -> None:
    """``correct`` and ``review``: acting on what the monitor found."""
    correct = commands.add_parser(
        "correct",
        help="apply the auto-corrections to a check run's findings; exit 2 when the limit stopped"
        " a rule",
    )
    correct.add_argument(
        "--dry-run", action="store_true", help="show what would change, write nothing"
    )
    correct.add_argument("--rule", metavar="ID", help="one correctable rule (default: all of them)")
    correct.add_argument(
        "--max-rows",
        type=int,
        metavar="N",
        help="blast-radius limit per rule (default $BOOKING_GUARD_MAX_CORRECTIONS, 500)",
    )
    correct.add_argument(
        "--run", type=int, metavar="ID", help="check run (default: newest successful)"
    )
    correct.add_argument("--json", action="store_true", help="every change, machine-readable")

    review = commands.add_parser("review", help="the manual review queue")
    actions = review.add_subparsers(dest="review_command", required=True, parser_class=_Parser)
    listing = actions.add_parser("list", help="items, open ones first by priority and age")
    listing.add_argument(
        "--status",
        choices=["open", "all", "pending", "in_progress", "resolved", "dismissed"],
        default="open",
        help="open (default: pending and in_progress), all, or one status",
    )
    listing.add_argument("--company", type=int, metavar="ID")
    listing.add_argument("--limit", type=int, default=100, help="at most N items (default 100)")
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one item and its history")
    show.add_argument("item_id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true")
    for name, needs_notes in (("resolve", True), ("dismiss", True), ("reopen", False)):
        act = actions.add_parser(name, help=f"{name} an item (recorded in its history)")
        act.add_argument("item_id", type=int, metavar="ID")
        act.add_argument("--notes", required=needs_notes, help="why (kept in the history)")
        act.add_argument("--by", help="who (default: the OS user)")
    actions.add_parser("process", help="the hourly run once: queue, re-check, escalate")


def _correct(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard import corrections

    url = settings.database_url
    run_id = args.run or corrections.latest_run(url)
    rules = (
        [corrections.correctable_rule(args.rule)] if args.rule else corrections.correctable_rules()
    )
    limit = args.max_rows if args.max_rows is not None else settings.max_corrections
    if limit < 1:
        raise BookingGuardError("--max-rows must be 1 or more")
    results = [
        corrections.correct(url, run_id, rule.id, max_rows=limit, dry_run=args.dry_run)
        for rule in rules
    ]
    if args.json:
        args.say(json.dumps([r.as_dict() for r in results], default=str, indent=2))
    else:
        verb = "would correct" if args.dry_run else "corrected"
        note = " (dry run: nothing written)" if args.dry_run else ""
        args.say(f"corrections of check run {run_id}{note}")
        for r in results:
            if r.blocked:
                args.say(f"  {r.rule_id:<26} BLOCKED: {r.findings:,} findings > limit {r.limit:,}")
                continue
            args.say(
                f"  {r.rule_id:<26} {r.findings:>6,} findings: {verb} {r.corrected:,},"
                f" to review {r.count('review'):,}, skipped {r.count('skipped'):,}"
            )
            for change in r.changes:
                if change.outcome in ("corrected", "would_correct"):
                    args.say(
                        f"    {r.rule_id} {change.entity_id}: {change.before} -> {change.after}"
                    )
    return ExitCode.LIMIT_REACHED if any(r.blocked for r in results) else ExitCode.CLEAN


def _review(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard import review

    url = settings.database_url
    command = args.review_command
    if command == "list":
        statuses = {"open": review.OPEN, "all": review.STATUSES}.get(args.status, (args.status,))
        items = review.list_items(url, statuses=statuses, company_id=args.company, limit=args.limit)
        if args.json:
            args.say(json.dumps(items, default=str, indent=2))
            return ExitCode.CLEAN
        for i in items:
            escalated = "  escalated" if i["escalated_at"] else ""
            args.say(
                f"#{i['id']:<7} {i['status']:<11} p{i['priority']} {i['reason']:<26}"
                f" {i['entity_type']} {i['entity_id']}  company {i['company_id']}"
                f"  since {i['created_at']:%Y-%m-%d %H:%M}{escalated}"
            )
        args.say(f"{len(items)} item{'s' if len(items) != 1 else ''}")
        return ExitCode.CLEAN
    if command == "process":
        args.say(json.dumps(review.process(url, settings), default=str))
        return ExitCode.CLEAN
    if command == "show":
        item = review.show(url, args.item_id)
    else:
        item = review.act(url, args.item_id, command, notes=args.notes, by=args.by)
    if getattr(args, "json", False):
        args.say(json.dumps(item, default=str, indent=2))
        return ExitCode.CLEAN
    history = item.pop("history")
    for key, value in item.items():
        if value is not None:
            args.say(
                f"{key:<17} {json.dumps(value, default=str) if isinstance(value, dict) else value}"
            )
    for h in history:
        args.say(
            f"  {h['at']:%Y-%m-%d %H:%M:%S} {h['action']:<13} by {h['actor']}: {h['notes'] or ''}"
        )
    return ExitCode.CLEAN


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "app-schema": _app_schema,
    "migrate": _migrate,
    "seed": _seed,
    "check": _check,
    "check-call": _check_call,
    "validate-booking": _validate_booking,
    "status": _status,
    "summary": _summary,
    "booking-demo": _booking_demo,
    "demo": _demo,
    "breaker": _breaker,
    "correct": _correct,
    "review": _review,
    "report": _report,
}
