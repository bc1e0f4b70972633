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
from pipeline.progress import Reporter
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


# Progress of long steps: bars on a terminal, plain lines elsewhere (pipeline/progress.py).
_reporter = Reporter()


def _progress(line: str) -> None:
    _reporter(line)


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
    from pipeline.newsletter.context import plural
    from pipeline.newsletter.render import render_week

    result = render_week(settings, args.week, args.seller or None, progress=_progress)
    print(
        f"rendered {plural(len(result.newsletters), 'newsletter')} for {args.week}"
        f" in {result.folder}" + (f", {len(result.failed)} failed" if result.failed else "")
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


def cmd_overview(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.delivery.send import send_overview
    from pipeline.newsletter.render import render_overview

    html, pdf = render_overview(settings, args.week)
    print(f"rendered the marketplace overview of {args.week}: {pdf} (and {html.name})")
    print(send_overview(settings, args.week, html, pdf, force=args.force))
    return 0


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


class _Help(argparse.RawDescriptionHelpFormatter):
    """Options with their defaults (unless the help says it); examples as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS)
        if shown and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _global_options(parser: argparse.ArgumentParser, *, top: bool, out: bool = True) -> None:
    """The global options, accepted before the subcommand (`top`) and after it. After it
    they default to "not given", so they never undo a value given before."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "--landing",
        type=Path,
        default=default(None),
        help="landing zone of the daily extracts (default: $CXN_LANDING_DIR or data/landing)",
    )
    group.add_argument(
        "--warehouse",
        type=Path,
        default=default(None),
        help="the DuckDB warehouse (default: $CXN_WAREHOUSE or data/warehouse.duckdb)",
    )
    if out:
        group.add_argument(
            "--out",
            type=Path,
            default=default(None),
            help="output folder: newsletters, outbox (default: $CXN_OUT_DIR or data/out)",
        )
    group.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="log each step"
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show tracebacks instead of one-line errors",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxn",
        formatter_class=_Help,
        description="Customer Experience newsletter pipeline: daily extracts -> DuckDB "
        "account-health marts -> weekly per-seller newsletters.",
        epilog="examples:\n"
        "  cxn demo                                   the whole pipeline on a demo marketplace\n"
        "  cxn run --from 2026-08-01 --to 2026-11-30  load and build a range of days\n"
        "  cxn render --week 2026-W48                 the week's newsletters\n"
        "  cxn COMMAND --help                         a command's options and examples\n"
        "\nSettings also come from the environment: CXN_LANDING_DIR, CXN_WAREHOUSE, "
        "CXN_OUT_DIR,\nCXN_SMTP_URL, CXN_MAIL_FROM, CXN_PAPER_SIZE (docs/operations.md).",
    )
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, examples: list[str], *, out: bool = True):
        p = sub.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog="examples:\n" + "\n".join(f"  {e}" for e in examples),
            formatter_class=_Help,
        )
        _global_options(p, top=False, out=out)
        return p

    p = command(
        "demo",
        "generate a demo marketplace, then load, build, render and deliver it to the outbox",
        ["cxn demo", "cxn demo --out /tmp/cxn-out"],
    )
    p.set_defaults(func=cmd_demo)

    p = command(
        "generate",
        "write a synthetic landing zone (deterministic for a seed)",
        [
            "cxn generate --out /tmp/landing --sellers 200 --days 90",
            "cxn generate --out data/landing --force    # replace an earlier generate's files",
        ],
        out=False,  # its --out is the landing folder it writes
    )
    p.add_argument(
        "--out",
        dest="out_dir",
        type=Path,
        help="landing folder to write (default: the landing zone, --landing)",
    )
    p.add_argument("--sellers", type=int, default=40, help="number of sellers")
    p.add_argument("--days", type=int, default=120, help="days of history")
    p.add_argument("--end-date", type=_date, help="last day (default: yesterday, UTC)")
    p.add_argument("--seed", type=int, default=7, help="random seed: same seed, same files")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace extracts already in the folder (never without it)",
    )
    p.set_defaults(func=cmd_generate)

    p = command(
        "load",
        "load one day's extracts into the warehouse (idempotent: a rerun replaces the day)",
        ["cxn load --date 2026-11-30"],
    )
    p.add_argument("--date", type=_date, required=True, help="the day's folder, dt=DATE")
    p.set_defaults(func=cmd_load)

    p = command(
        "build",
        "build the models and marts as of a date, then publish them for analysts",
        ["cxn build --as-of 2026-11-30", "cxn build --as-of 2026-11-30 --full"],
    )
    p.add_argument("--as-of", type=_date, required=True, help="the as-of date D (SPEC 3.1)")
    p.add_argument(
        "--full",
        action="store_true",
        help="run every model from the staging views (the reference), not incrementally",
    )
    p.set_defaults(func=cmd_build)

    p = command(
        "publish",
        "publish the marts to the analysts' read-only snapshot (analytics.duckdb)",
        ["cxn publish"],
    )
    p.set_defaults(func=cmd_publish)

    p = command(
        "run",
        "load and build every day of a range in one pass (a backfill), then publish",
        ["cxn run --from 2026-08-01 --to 2026-11-30"],
    )
    p.add_argument("--from", dest="from_date", type=_date, required=True, help="first day")
    p.add_argument("--to", dest="to_date", type=_date, required=True, help="last day")
    p.set_defaults(func=cmd_run)

    def week_options(p: argparse.ArgumentParser, *, sellers: bool) -> None:
        """--week, and --seller for the commands that can do one seller at a time."""
        p.add_argument("--week", type=_week, required=True, help="ISO week like 2026-W48")
        if sellers:
            p.add_argument(
                "--seller",
                action="append",
                help="only this seller (repeatable; default: every seller)",
            )

    p = command(
        "render",
        "render a week's newsletters to HTML and PDF",
        ["cxn render --week 2026-W48", "cxn render --week 2026-W48 --seller S0001"],
    )
    week_options(p, sellers=True)
    p.set_defaults(func=cmd_render)

    p = command(
        "send",
        "email a week's rendered newsletters, once per seller (CXN_SMTP_URL, else the outbox)",
        [
            "cxn send --week 2026-W48",
            "cxn send --week 2026-W48 --seller S0001 --force    # send it again",
        ],
    )
    week_options(p, sellers=True)
    p.add_argument("--force", action="store_true", help="resend what was already sent")
    p.set_defaults(func=cmd_send)

    p = command(
        "overview",
        "the operator's overview of a week: HTML and PDF, emailed to CXN_OPERATOR_EMAIL if set",
        [
            "cxn overview --week 2026-W48",
            "CXN_OPERATOR_EMAIL=ops@example.com cxn overview --week 2026-W48 --force",
        ],
    )
    week_options(p, sellers=False)
    p.add_argument("--force", action="store_true", help="email it again if already sent")
    p.set_defaults(func=cmd_overview)

    p = command(
        "export",
        "a seller's Seller Performance report as JSON (Amazon's schema)",
        [
            "cxn export --seller S0001 --as-of 2026-11-30",
            "cxn export --seller S0001 --as-of 2026-11-30 --output s0001.json",
        ],
    )
    p.add_argument("--seller", required=True, help="the seller id")
    p.add_argument("--as-of", type=_date, required=True, help="a built as-of date")
    p.add_argument("--output", type=Path, help="write to this file (default: standard output)")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    global _reporter
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `cxn`: what it can do
        parser.print_help()
        return 0
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    _reporter = Reporter()
    try:
        with _reporter:  # the bars end before any error line
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
