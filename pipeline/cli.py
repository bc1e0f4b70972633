"""The `cxn` command line (SPEC §7).

Every verb is a thin wrapper over a `pipeline` function. Errors print one line and exit
non-zero; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.errors import CxnError
from pipeline.settings import Settings
from pipeline.weeks import IsoWeek

log = logging.getLogger("pipeline")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-20") from None


def _week(text: str) -> IsoWeek:
    try:
        return IsoWeek.parse(text)
    except CxnError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


# ---------------------------------------------------------------------------------------
# Verbs


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.synthetic import generate

    out = args.out_dir or settings.landing_dir
    end = args.end_date or _yesterday()
    result = generate(
        out,
        sellers=args.sellers,
        days=args.days,
        end_date=end,
        seed=args.seed,
        progress=_progress,
        force=args.force,
    )
    total = sum(result.rows.values())
    print(
        f"generated {total:,} rows ({result.malformed} deliberately malformed) for "
        f"{result.sellers} sellers, {result.first_date} to {result.end_date}, in {out}"
    )
    return 0


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.ingest.load import load_day

    result = load_day(settings, args.date)
    for f in result.files:
        print(
            f"{f.file}: {f.loaded:,} loaded, {f.rejected} rejected"
            + (f", {f.duplicates} identical copies dropped" if f.duplicates else "")
        )
    print(f"loaded {result.load_date}: {result.loaded:,} rows, {result.rejected} rejected")
    return 0


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.models.build import build

    result = build(settings, args.as_of, full=args.full)
    print(
        f"built as of {result.as_of} ({result.mode}): {result.models} models, "
        f"{result.tests} data tests passed, {result.seconds:.1f}s"
    )
    _publish(settings)
    return 0


def _publish(settings: Settings) -> None:
    from pipeline.models.snapshot import publish_snapshot

    snap = publish_snapshot(settings)
    print(f"published the marts for analysts to {snap.path} ({snap.seconds:.1f}s)")


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    _publish(settings)
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.models.runner import run_range

    days, built = run_range(settings, args.from_date, args.to_date, progress=_progress)
    print(f"loaded {days} days and built {built} as-of dates, {args.from_date} to {args.to_date}")
    _publish(settings)
    return 0


def cmd_render(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.newsletter.render import render_week

    result = render_week(settings, args.week, args.seller or None, progress=_progress)
    print(
        f"rendered {len(result.newsletters)} newsletters for {args.week} in {result.folder}"
        + (f", {len(result.failed)} failed" if result.failed else "")
    )
    for seller, error in sorted(result.failed.items()):
        print(f"  {seller}: {error}", file=sys.stderr)
    return 1 if result.failed else 0


def cmd_send(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.delivery.send import send_week

    result = send_week(
        settings, args.week, args.seller or None, force=args.force, progress=_progress
    )
    where = "over SMTP" if settings.smtp_url else f"to {settings.outbox_dir}"
    print(
        f"{args.week}: {len(result.sent)} sent {where}, {len(result.skipped)} already sent "
        f"(use --force to resend), {len(result.failed)} failed"
        + (f", {len(result.in_doubt)} left in sending" if result.in_doubt else "")
    )
    for seller, error in sorted(result.failed.items()):
        print(f"  {seller}: {error}", file=sys.stderr)
    for seller, error in sorted(result.refused.items()):
        print(f"  {seller}: sent, but {error}", file=sys.stderr)
    if result.in_doubt:
        print(
            f"  left in sending by an interrupted run (perhaps sent; check the mail server's "
            f"log, then `cxn send --week {args.week} --seller S --force`): "
            + ", ".join(result.in_doubt),
            file=sys.stderr,
        )
    if result.config_error:
        raise CxnError(result.config_error)
    return 1 if result.failed or result.in_doubt else 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from pipeline.export import export_report
    from pipeline.newsletter.render import write_atomic

    report = export_report(settings, args.seller, args.as_of)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        write_atomic(args.output, text.encode("utf-8"))
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.demo import run_demo

    run_demo(settings, progress=_progress)
    return 0


# ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxn",
        description="Customer Experience newsletter pipeline: daily extracts -> DuckDB "
        "account-health marts -> weekly per-seller newsletters.",
    )
    parser.add_argument("--landing", type=Path, help="landing zone (env CXN_LANDING_DIR)")
    parser.add_argument("--warehouse", type=Path, help="DuckDB file (env CXN_WAREHOUSE)")
    parser.add_argument("--out", type=Path, help="output folder (env CXN_OUT_DIR)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="generate, load, build, render and deliver on defaults")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("generate", help="write a synthetic landing zone")
    p.add_argument("--out", dest="out_dir", type=Path, help="landing folder to write")
    p.add_argument("--sellers", type=int, default=40)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--end-date", type=_date, help="last day (default: yesterday, UTC)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--force", action="store_true", help="replace the extracts already in the folder"
    )
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("load", help="load one day's extracts (idempotent)")
    p.add_argument("--date", type=_date, required=True)
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("build", help="build the models and marts as of a date (idempotent)")
    p.add_argument("--as-of", type=_date, required=True)
    p.add_argument(
        "--full",
        action="store_true",
        help="run every model from the staging views (the reference), not incrementally",
    )
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("publish", help="publish the marts to the analysts' read-only snapshot")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("run", help="load + build each day of a range, in order (a backfill)")
    p.add_argument("--from", dest="from_date", type=_date, required=True)
    p.add_argument("--to", dest="to_date", type=_date, required=True)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("render", help="render the week's newsletters (HTML + PDF)")
    p.add_argument("--week", type=_week, required=True, help="ISO week like 2026-W47")
    p.add_argument("--seller", action="append", help="only this seller (repeatable)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("send", help="deliver the week's rendered newsletters")
    p.add_argument("--week", type=_week, required=True, help="ISO week like 2026-W47")
    p.add_argument("--seller", action="append", help="only this seller (repeatable)")
    p.add_argument("--force", action="store_true", help="resend what was already sent")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("export", help="a seller's Seller Performance report as JSON")
    p.add_argument("--seller", required=True)
    p.add_argument("--as-of", type=_date, required=True)
    p.add_argument("--output", type=Path, help="write to this file instead of stdout")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = Settings.from_env(
            landing_dir=args.landing, warehouse=args.warehouse, out_dir=args.out
        )
        return int(args.func(args, settings))
    except CxnError as exc:
        if args.debug:
            raise
        print(f"cxn: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cxn: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"cxn: unexpected error: {type(exc).__name__}: {first} (--debug shows the traceback)",
            file=sys.stderr,
        )
        return 2
