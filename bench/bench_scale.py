"""Scale benchmark: a marketplace of thousands of sellers and millions of orders.

    .venv/bin/python bench/bench_scale.py                       # 2,000 sellers x 365 days
    .venv/bin/python bench/bench_scale.py --sellers 200 --days 120   # a quick look

Generates the landing zone, then runs the daily job for every day in order (load, then
build as of that day: a backfill of history), and prints:

* load time per day and build time per as-of date (median, p95, last);
* the whole backfill's wall time;
* one more build of the last date on the finished warehouse;
* peak memory (max RSS of this process, which hosts DuckDB);
* each figure also as a ratio to a baseline measured in the same run on the same data:
  one full scan of the raw order versions (`count(*), sum(item_price)`), so the
  numbers can be compared across machines.

No assertions: this prints figures for people to read.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.settings import Settings
from pipeline.synthetic import generate


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline_scan(warehouse: Path) -> tuple[float, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        best = float("inf")
        rows = 0
        for _ in range(3):
            t = time.perf_counter()
            rows = con.execute("select count(*), sum(item_price) from raw.orders").fetchall()[0][0]
            best = min(best, time.perf_counter() - t)
        return best, int(rows)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 11, 22))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("data/bench"))
    parser.add_argument("--keep", action="store_true", help="reuse an existing landing zone")
    parser.add_argument(
        "--build-every",
        type=int,
        default=1,
        help="build every K-th day only (K > 1: the backfill time is estimated from the "
        "sampled builds, which grow with history, by the trapezoid rule)",
    )
    args = parser.parse_args(argv)

    work: Path = args.workdir
    settings = Settings(
        landing_dir=work / "landing", warehouse=work / "warehouse.duckdb", out_dir=work / "out"
    )
    first = args.end_date - timedelta(days=args.days - 1)
    say = lambda line: print(line, flush=True)  # noqa: E731

    if not (args.keep and settings.landing_dir.is_dir()):
        shutil.rmtree(work, ignore_errors=True)
        t = time.perf_counter()
        result = generate(
            settings.landing_dir,
            sellers=args.sellers,
            days=args.days,
            end_date=args.end_date,
            seed=args.seed,
            force=True,  # the benchmark owns its work folder
        )
        say(
            f"generate: {result.orders:,} orders, {sum(result.rows.values()):,} rows "
            f"in {time.perf_counter() - t:.0f}s"
        )
    settings.warehouse.unlink(missing_ok=True)

    loads: list[float] = []
    builds: list[float] = []
    sampled: list[tuple[int, float]] = []
    started = time.perf_counter()
    for i in range(args.days):
        day = first + timedelta(days=i)
        t = time.perf_counter()
        load_day(settings, day)
        loads.append(time.perf_counter() - t)
        if (args.days - 1 - i) % args.build_every == 0:
            t = time.perf_counter()
            build(settings, day)
            builds.append(time.perf_counter() - t)
            sampled.append((i, builds[-1]))
        if (i + 1) % 30 == 0 or i + 1 == args.days:
            say(
                f"  day {i + 1}/{args.days} {day}: load {loads[-1]:.2f}s "
                f"last build {builds[-1] if builds else 0:.2f}s "
                f"elapsed {time.perf_counter() - started:.0f}s rss {_peak_rss_mb():.0f} MB"
            )
    backfill = time.perf_counter() - started
    if args.build_every > 1:
        # Every day would have been built: a build's time grows with the history it
        # covers, so interpolate linearly between the sampled builds, day by day.
        xs, ts = zip(*sampled, strict=True)
        backfill = sum(loads) + float(np.interp(np.arange(args.days), xs, ts).sum())

    t = time.perf_counter()
    build(settings, args.end_date)
    rebuild = time.perf_counter() - t
    scan, raw_orders = _baseline_scan(settings.warehouse)
    size_mb = settings.warehouse.stat().st_size / 1e6

    say("")
    say(f"marketplace: {args.sellers:,} sellers, {args.days} days, {raw_orders:,} order versions")
    if args.build_every > 1:
        say(f"builds:      every {args.build_every}th day ({len(builds)} builds), not every day")
    say(f"warehouse:   {size_mb:,.0f} MB")
    say(f"baseline:    one scan of raw.orders {scan * 1000:.0f} ms")
    rows = [
        ("load per day, median", statistics.median(loads)),
        ("load per day, p95", _p95(loads)),
        ("build per as-of date, median", statistics.median(builds)),
        ("build per as-of date, p95", _p95(builds)),
        ("build of the last date (full history)", rebuild),
        (
            f"backfill of {args.days} days (load + build)"
            + (" ESTIMATED" if args.build_every > 1 else ""),
            backfill,
        ),
    ]
    for label, seconds in rows:
        say(f"{label:<42} {seconds:8.2f} s   {seconds / scan:8.0f} x baseline")
    say(f"{'peak memory (max RSS)':<42} {_peak_rss_mb():8.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
