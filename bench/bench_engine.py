"""Engine benchmark (issue 10): what a day costs at day 30 and day 365, a year's backfill in
one pass against day by day, a full recompute of one date, and a pandas implementation.

    .venv/bin/python bench/bench_engine.py                          # 2,000 sellers x 365 days
    .venv/bin/python bench/bench_engine.py --sellers 200 --days 60  # a quick look

The year but its last day is loaded and built in one pass (`run_range`, what `cxn run`
does); the last day is then loaded and built on its own, as the daily DAG would. The
day-by-day run (`--day-by-day N`: its first N days) gives the early days' figures.
Every phase runs in its own process, so its peak memory (max RSS) is its own. Figures are
also printed as ratios to a baseline measured in the same run (one scan of raw.orders).
Prints figures; asserts nothing about time. The pandas results are compared with the
marts and the run stops if they differ.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PHASES = {
    "one_pass": """
from pipeline.models.runner import run_range
run_range(SETTINGS, FIRST, LAST - timedelta(days=1), progress=None)
""",
    "last_day": """
import json, time
from pipeline.models.build import build
from pipeline.ingest.load import load_day
t = time.perf_counter(); load_day(SETTINGS, LAST); load = time.perf_counter() - t
t = time.perf_counter(); mode = build(SETTINGS, LAST).mode; seconds = time.perf_counter() - t
OUT.write_text(json.dumps({"day": str(LAST), "load": load, "build": seconds, "mode": mode}))
""",
    "day_by_day": """
import json, time
from datetime import timedelta
from pipeline.models.build import build
from pipeline.ingest.load import load_day
days = []
for i in range(DAY_BY_DAY):
    day = FIRST + timedelta(days=i)
    t = time.perf_counter(); load_day(SETTINGS, day); load = time.perf_counter() - t
    t = time.perf_counter(); mode = build(SETTINGS, day).mode; seconds = time.perf_counter() - t
    days.append({"day": str(day), "load": load, "build": seconds, "mode": mode})
OUT.write_text(json.dumps(days))
""",
    "full_recompute": """
import json, time
from pipeline.models.build import build
t = time.perf_counter(); build(SETTINGS, LAST, full=True); full = time.perf_counter() - t
# An earlier date than the running totals: counted from the outcome histories.
t = time.perf_counter(); mode = build(SETTINGS, LAST - timedelta(days=7)).mode
histories = time.perf_counter() - t
OUT.write_text(json.dumps({"full": full, "histories": histories, "mode": mode}))
""",
    "pandas": """
import json, sys, time
sys.path.insert(0, str(ROOT / "bench"))
from pandas_metrics import compare, seller_metrics
t = time.perf_counter(); rows = seller_metrics(str(SETTINGS.warehouse), LAST)
seconds = time.perf_counter() - t
OUT.write_text(json.dumps({"seconds": seconds, "rows": len(rows),
                           "differ": compare(str(SETTINGS.warehouse), LAST, rows)}))
""",
}


def run_phase(name: str, settings: dict, out: Path, **values: object) -> tuple[float, float]:
    """Run a phase in a child process; returns (wall seconds, peak RSS in MB)."""
    prelude = (
        "import sys, datetime\nfrom datetime import date, timedelta\nfrom pathlib import Path\n"
        "from pipeline.settings import Settings\n"
        f"ROOT = Path({str(ROOT)!r})\n"
        f"SETTINGS = Settings(Path({settings['landing']!r}), Path({settings['warehouse']!r}), "
        f"Path({settings['out']!r}))\n"
        f"OUT = Path({str(out)!r})\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items())
    )
    # The child reports its own peak: RUSAGE_CHILDREN is the largest of all children so far.
    epilogue = (
        "\nimport resource as _r\n"
        f"Path({str(out)!r} + '.rss').write_text(str(_r.getrusage(_r.RUSAGE_SELF).ru_maxrss))\n"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", prelude + PHASES[name] + epilogue], check=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    return seconds, int(Path(f"{out}.rss").read_text()) / 1024


def baseline(warehouse: Path) -> float:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            con.execute("select count(*), sum(item_price) from raw.orders").fetchall()
            best = min(best, time.perf_counter() - t)
        return best
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 11, 22))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("data/bench"))
    parser.add_argument(
        "--day-by-day", type=int, help="days of the day-by-day run (default: all of them)"
    )
    args = parser.parse_args(argv)
    work: Path = args.workdir.resolve()
    first = args.end_date - timedelta(days=args.days - 1)
    landing = work / "landing"
    say = lambda line: print(line, flush=True)  # noqa: E731

    marker = work / f"landing.{args.sellers}x{args.days}.{args.seed}"
    if not marker.exists():
        from pipeline.synthetic import generate

        shutil.rmtree(work, ignore_errors=True)
        t = time.perf_counter()
        result = generate(
            landing,
            sellers=args.sellers,
            days=args.days,
            end_date=args.end_date,
            seed=args.seed,
            force=True,
        )
        marker.touch()
        say(
            f"generate: {result.orders:,} orders, {sum(result.rows.values()):,} extract rows "
            f"in {time.perf_counter() - t:.0f}s"
        )
    common = {"FIRST": first, "LAST": args.end_date}
    figures: dict[str, tuple[float, float]] = {}

    def fresh(name: str) -> dict:
        folder = work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return {
            "landing": str(landing),
            "warehouse": str(folder / "warehouse.duckdb"),
            "out": str(folder / "out"),
        }

    # The year but its last day in one pass; then the last day as a daily run would do it.
    one = fresh("one_pass")
    figures["one_pass"] = run_phase("one_pass", one, work / "one_pass.json", **common)
    say(f"one-pass backfill of {args.days - 1} days: {figures['one_pass'][0]:.0f}s")
    # A copy for `cxn build` in its own process: the same daily build as the next phase.
    cli = fresh("cli")
    shutil.copy(one["warehouse"], cli["warehouse"])
    figures["last_day"] = run_phase("last_day", one, work / "last_day.json", **common)
    last_day = json.loads((work / "last_day.json").read_text())

    days = args.day_by_day or args.days
    daily = fresh("day_by_day")
    figures["day_by_day"] = run_phase(
        "day_by_day", daily, work / "day_by_day.json", DAY_BY_DAY=days, **common
    )
    per_day = json.loads((work / "day_by_day.json").read_text())
    say(f"day by day, {days} days: {figures['day_by_day'][0]:.0f}s")

    figures["full_recompute"] = run_phase("full_recompute", one, work / "full.json", **common)
    full = json.loads((work / "full.json").read_text())

    figures["pandas"] = run_phase("pandas", one, work / "pandas.json", **common)
    pandas = json.loads((work / "pandas.json").read_text())
    if pandas["differ"]:
        raise SystemExit(f"pandas and the marts differ on {pandas['differ']} rows")

    in_process_seconds = last_day["build"]
    env = {"CXN_LANDING_DIR": str(landing), "CXN_WAREHOUSE": cli["warehouse"]}
    import os

    # As in production: a snapshot was published after yesterday's build (not timed), and
    # today's extracts are loaded (not timed); `cxn build` builds and publishes.
    for command in (["publish"], ["load", "--date", str(args.end_date)]):
        subprocess.run(
            [str(ROOT / ".venv/bin/cxn"), *command],
            check=True,
            env={**os.environ, **env},
            capture_output=True,
        )
    t = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv/bin/cxn"), "build", "--as-of", str(args.end_date)],
        check=True,
        env={**os.environ, **env},
        capture_output=True,
    )
    cli_seconds = time.perf_counter() - t

    base = baseline(Path(one["warehouse"]))

    def row(label: str, seconds: float, mb: float | None = None) -> None:
        memory = f"{mb:8.0f} MB" if mb is not None else " " * 11
        say(f"{label:<52} {seconds:8.2f} s  {memory}  {seconds / base:9.0f} x baseline")

    def at(n: int) -> dict:
        return last_day if n == args.days else per_day[min(n, len(per_day)) - 1]

    say("")
    say(f"marketplace: {args.sellers:,} sellers, {args.days} days ({first} .. {args.end_date})")
    say(f"baseline: one scan of raw.orders {base * 1000:.0f} ms")
    for n in (30, 120, args.days):
        if n <= len(per_day) or n == args.days:
            d = at(n)
            row(f"day {n}: load", d["load"])
            row(f"day {n}: build ({d['mode']})", d["build"])
    if len(per_day) >= 30:
        last, day30 = at(args.days), at(30)
        say(f"{f'load, day {args.days} / day 30':<52} {last['load'] / day30['load']:8.2f}")
        say(f"{f'build, day {args.days} / day 30':<52} {last['build'] / day30['build']:8.2f}")
    row(f"one-pass backfill of {args.days - 1} days (cxn run's path)", *figures["one_pass"])
    row(f"... + day {args.days} loaded and built as a daily run", *figures["last_day"])
    row(f"day by day ({days} days: load_day, build)", *figures["day_by_day"])
    row(
        "full recompute of the last date (build --full)", full["full"], figures["full_recompute"][1]
    )
    row(f"a date a week back, from the histories ({full['mode']})", full["histories"])
    row(f"pandas, seller_metrics of the last date ({pandas['rows']:,} rows)", *figures["pandas"])
    row("the last date's daily build in process", in_process_seconds)
    row("... through `cxn build` in its own process (+ publish)", cli_seconds)
    say(f"{'pandas / daily build':<52} {pandas['seconds'] / in_process_seconds:8.1f}")
    say(f"{'pandas / full recompute':<52} {pandas['seconds'] / full['full']:8.1f}")
    say(f"{'cxn build / in process':<52} {cli_seconds / in_process_seconds:8.2f}")
    say(f"rows where pandas and the marts differ: {pandas['differ']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
