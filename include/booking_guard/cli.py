"""``booking-guard``: the command-line front door to the library.

Every command calls a library function and prints its result; a failure is one line on stderr
and exit status 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import psycopg

from booking_guard.db import first_line
from booking_guard.errors import BookingGuardError
from booking_guard.settings import SEVERITIES, Settings

EXIT_ERROR = 3


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

    status = commands.add_parser("status", help="open alerts per rule and the last check runs")
    status.add_argument("--json", action="store_true")

    _acting_parsers(commands)

    demo = commands.add_parser(
        "demo", help="main job: create the demo database, install, migrate, seed, summarise"
    )
    _seed_options(demo, default_calls=100_000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(args.database_url)
        return COMMANDS[args.command](args, settings)
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
    print("reference app schema installed")
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard import migrations

    url = settings.database_url
    if args.status:
        state = migrations.status(url)
        print(f"current: {state.current or 'base (nothing applied)'}")
        print(f"head:    {state.head}")
        for revision, doc in state.pending:
            print(f"pending: {revision} {doc.splitlines()[0]}")
        if state.up_to_date:
            print("up to date")
        return 0
    if args.down:
        applied = migrations.downgrade(url, args.down, sql=args.sql)
    else:
        applied = migrations.upgrade(url, args.to, sql=args.sql)
    if not args.sql:
        for step in applied:
            print(f"applied {step}")
        if not applied:
            print("nothing to do: already at the target")
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.monitor import run_check

    report = run_check(
        settings,
        full=args.full,
        since=args.since,
        notify=not args.no_notify,
        build_docs=not args.no_docs,
    )
    if args.json:
        print(json.dumps(report.as_dict(), default=str, indent=2))
        return report.exit_code
    window = (
        "full scan"
        if report.mode == "full"
        else f"changes since {report.window_start:%Y-%m-%d %H:%M:%S%z}"
    )
    print(f"check run {report.run_id}: {window}")
    for rule in sorted(report.rules, key=lambda r: (SEVERITIES.index(r.severity), r.rule_id)):
        sample = ", ".join(map(str, rule.sample_ids)) + (
            ", …" if rule.count > len(rule.sample_ids) else ""
        )
        print(f"  {rule.severity:<8} {rule.rule_id:<26} {rule.count:>8,}  {sample}")
    a = report.alerts
    print(f"alerts: {a.opened:,} opened, {a.seen_again:,} seen again, {a.resolved:,} resolved")
    if report.notifications:
        n = report.notifications
        print(
            f"notifications: {len(n.sent)} sent, {len(n.throttled)} throttled,"
            f" {len(n.failed)} failed (will retry); throttle via {n.throttle_backend}"
        )
    if report.data_docs:
        print(f"data docs: {report.data_docs}")
    for error in report.errors:
        print(f"booking-guard: warning: {error}", file=sys.stderr)
    return report.exit_code


def _check_call(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.monitor import exit_code
    from booking_guard.rules import check_call

    issues = check_call(settings.database_url, args.call_id)
    if args.json:
        print(json.dumps(issues, default=str, indent=2))
    else:
        for issue in issues:
            column = f".{issue['column']}" if "column" in issue else ""
            print(
                f"{issue['severity']:<8} {issue['type']:<26}"
                f" {issue['entity_type']} {issue['entity_id']}{column}: {issue['description']}"
            )
        if not issues:
            print(f"call {args.call_id}: no issues")
    return exit_code([issue["severity"] for issue in issues])


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.alerts import open_summary
    from booking_guard.db import connect

    rows = open_summary(settings.database_url)
    with connect(settings.database_url) as conn:
        runs = conn.execute(
            "SELECT id, mode, status, started_at, findings FROM bg_check_runs"
            " ORDER BY id DESC LIMIT 5"
        ).fetchall()
    if args.json:
        print(json.dumps({"open_alerts": rows, "runs": runs}, default=str, indent=2))
        return 0
    total = sum(r["open_alerts"] for r in rows)
    print(f"open alerts: {total:,}")
    for r in rows:
        print(
            f"  {r['severity']:<8} {r['alert_type']:<26} {r['open_alerts']:>8,}"
            f"  ({r['companies']} companies, {r['not_notified']:,} not yet notified)"
        )
    for run_id, mode, state, started, findings in runs:
        when = f"{started:%Y-%m-%d %H:%M:%S}"
        print(f"run {run_id}: {mode:<11} {state:<9} {when} {findings or 0:,} findings")
    return 0


def _seed_spec(args: argparse.Namespace):
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


def _print_seed(summary) -> None:
    print(
        f"seeded {summary.calls:,} calls ({summary.soft_deleted_calls:,} soft-deleted), "
        f"{summary.appointments:,} appointments ({summary.soft_deleted_appointments:,} "
        f"soft-deleted), {summary.customers:,} customers, {summary.companies} companies"
    )
    print(f"planted findings: {len(summary.truth):,}")
    for rule, count in summary.findings_per_rule.items():
        print(f"  {rule:<26} {count:>8,}")


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.seed import seed

    _print_seed(seed(settings.database_url, _seed_spec(args), args.truth))
    if args.truth:
        print(f"ground truth written to {args.truth}")
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard.db import redacted
    from booking_guard.demo import run_demo

    spec = _seed_spec(args)
    spec.validate()
    result = run_demo(settings.database_url, spec, args.truth)
    state = "created" if result.database_created else "exists"
    print(f"database {redacted(settings.database_url)} ({state})")
    print(f"migrations: {', '.join(result.migrations_applied) or 'already at head'}")
    _print_seed(result.seed)
    return 0


def _acting_parsers(commands) -> None:
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
        print(json.dumps([r.as_dict() for r in results], default=str, indent=2))
    else:
        verb = "would correct" if args.dry_run else "corrected"
        note = " (dry run: nothing written)" if args.dry_run else ""
        print(f"corrections of check run {run_id}{note}")
        for r in results:
            if r.blocked:
                print(f"  {r.rule_id:<26} BLOCKED: {r.findings:,} findings > limit {r.limit:,}")
                continue
            print(
                f"  {r.rule_id:<26} {r.findings:>6,} findings: {verb} {r.corrected:,},"
                f" to review {r.count('review'):,}, skipped {r.count('skipped'):,}"
            )
            for change in r.changes:
                if change.outcome in ("corrected", "would_correct"):
                    print(f"    {r.rule_id} {change.entity_id}: {change.before} -> {change.after}")
    return 2 if any(r.blocked for r in results) else 0


def _review(args: argparse.Namespace, settings: Settings) -> int:
    from booking_guard import review

    url = settings.database_url
    command = args.review_command
    if command == "list":
        statuses = {"open": review.OPEN, "all": review.STATUSES}.get(args.status, (args.status,))
        items = review.list_items(url, statuses=statuses, company_id=args.company, limit=args.limit)
        if args.json:
            print(json.dumps(items, default=str, indent=2))
            return 0
        for i in items:
            escalated = "  escalated" if i["escalated_at"] else ""
            print(
                f"#{i['id']:<7} {i['status']:<11} p{i['priority']} {i['reason']:<26}"
                f" {i['entity_type']} {i['entity_id']}  company {i['company_id']}"
                f"  since {i['created_at']:%Y-%m-%d %H:%M}{escalated}"
            )
        print(f"{len(items)} item{'s' if len(items) != 1 else ''}")
        return 0
    if command == "process":
        print(json.dumps(review.process(url, settings), default=str))
        return 0
    if command == "show":
        item = review.show(url, args.item_id)
    else:
        item = review.act(url, args.item_id, command, notes=args.notes, by=args.by)
    if getattr(args, "json", False):
        print(json.dumps(item, default=str, indent=2))
        return 0
    history = item.pop("history")
    for key, value in item.items():
        if value is not None:
            print(
                f"{key:<17} {json.dumps(value, default=str) if isinstance(value, dict) else value}"
            )
    for h in history:
        print(
            f"  {h['at']:%Y-%m-%d %H:%M:%S} {h['action']:<13} by {h['actor']}: {h['notes'] or ''}"
        )
    return 0


COMMANDS = {
    "app-schema": _app_schema,
    "migrate": _migrate,
    "seed": _seed,
    "check": _check,
    "check-call": _check_call,
    "status": _status,
    "demo": _demo,
    "correct": _correct,
    "review": _review,
}
