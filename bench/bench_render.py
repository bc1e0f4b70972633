"""Render benchmark: one week's newsletters for 200 sellers, single process, pooled, batched.

    .venv/bin/python bench/bench_render.py                  # 200 sellers, 120 days of data
    .venv/bin/python bench/bench_render.py --sellers 40     # a quick look
    .venv/bin/python bench/bench_render.py --data DIR       # reuse DIR's warehouse if built

Prepares a warehouse (generate, load every day, build the 13 Sundays the trend charts
need), then prints:

* newsletters per second and seconds per page, rendering every seller in one process,
  then through `render_week` with one worker and with a process pool over all cores;
* the weekly DAG's way: batches of 50 sellers, each `render_week(..., workers=1)` in its
  own task, run side by side by 1 and by all cores' worth of processes (as Celery workers
  with that concurrency would run them);
* where one newsletter's time goes (single process): the mart queries, drawing the
  SVG charts, the Jinja template, and WeasyPrint's layout and PDF writing;
* a baseline measured in the same run: WeasyPrint laying out a one-page document with
  the same fonts, so seconds per page read as a multiple of the cheapest possible page.

No assertions: this prints figures for people to read.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from pypdf import PdfReader

from pipeline.models.runner import run_range
from pipeline.models.snapshot import open_snapshot, publish_snapshot
from pipeline.newsletter.charts import Point, trend_svg
from pipeline.newsletter.context import TREND_WEEKS, seller_context
from pipeline.newsletter.render import (
    Printer,
    render_html,
    render_pdf,
    render_week,
    seller_batches,
    template_env,
    week_sellers,
)
from pipeline.settings import Settings
from pipeline.synthetic import generate
from pipeline.weeks import IsoWeek

END = date(2026, 11, 22)  # a Sunday: the week rendered is the one it ends


def prepare(settings: Settings, sellers: int, days: int) -> IsoWeek:
    week = IsoWeek.last_full_week(END + timedelta(days=1))
    marker = settings.warehouse.with_suffix(f".{sellers}x{days}.ready")
    if marker.exists():
        print(f"reusing {settings.warehouse}")
        return week
    first = END - timedelta(days=days - 1)
    trend_start = week.as_of - timedelta(weeks=TREND_WEEKS - 1)
    t = time.perf_counter()
    generate(settings.landing_dir, sellers=sellers, days=days, end_date=END, seed=11, force=True)
    settings.warehouse.unlink(missing_ok=True)
    run_range(
        settings,
        first,
        END,
        build_day=lambda d: d == END or (d.isoweekday() == 7 and d >= trend_start),
    )
    publish_snapshot(settings)
    marker.touch()
    print(f"prepared {sellers} sellers x {days} days in {time.perf_counter() - t:.0f}s")
    return week


def baseline_page_seconds() -> float:
    """The cheapest page: one paragraph in the newsletter's fonts (best of 5)."""
    html = (
        "<html><head><style>@font-face{font-family:X;src:url(fonts/DejaVuSans.ttf)}"
        "html{font-family:X}</style></head><body><p>Hello, seller.</p></body></html>"
    )
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        render_pdf(html)
        best = min(best, time.perf_counter() - t)
    return best


def breakdown(settings: Settings, week: IsoWeek) -> tuple[dict[str, list[float]], int, int]:
    """Render every seller in this process, timing each stage."""
    env = template_env()
    stages: dict[str, list[float]] = {"queries": [], "charts": [], "template": [], "layout": []}
    pages = 0
    sellers = week_sellers(settings, week)
    printer = Printer(settings.paper_size)
    with open_snapshot(settings) as con:
        for seller_id in sellers:
            t0 = time.perf_counter()
            context = seller_context(con, seller_id, week)
            t1 = time.perf_counter()
            # Drawing alone: the same charts drawn again, without their query.
            t2 = time.perf_counter()
            for chart in context.trends:
                trend_svg(
                    [Point(f"W{i}", 0.01 * (i % 5)) for i in range(TREND_WEEKS)],
                    0.01,
                    "LESS_THAN",
                    chart["title"],
                    chart_id=chart["metric"],
                )
            svg = time.perf_counter() - t2
            t3 = time.perf_counter()
            html = render_html(context, env, inline_css=False)
            t4 = time.perf_counter()
            pdf = printer.pdf(html)
            t5 = time.perf_counter()
            stages["queries"].append((t1 - t0) - svg)
            stages["charts"].append(svg)
            stages["template"].append(t4 - t3)
            stages["layout"].append(t5 - t4)
            pages += len(PdfReader(io.BytesIO(pdf)).pages)
    return stages, len(sellers), pages


def _render_batch_task(settings: Settings, week: IsoWeek, batch: list[str]) -> int:
    """One weekly-DAG render task: a batch in one process."""
    return len(render_week(settings, week, batch, workers=1).newsletters)


def batches_side_by_side(settings: Settings, week: IsoWeek, processes: int) -> float:
    """Seconds to render every batch of 50 with `processes` tasks at a time."""
    batches = seller_batches(week_sellers(settings, week))
    ctx = multiprocessing.get_context("spawn")
    t = time.perf_counter()
    with ProcessPoolExecutor(processes, mp_context=ctx, max_tasks_per_child=1) as pool:
        n = len(batches)
        done = sum(pool.map(_render_batch_task, [settings] * n, [week] * n, batches))
    seconds = time.perf_counter() - t
    assert done == sum(len(b) for b in batches)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=200)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--data", type=Path, default=Path("/tmp/cxn-bench-render"))
    args = parser.parse_args(argv)
    settings = Settings(
        landing_dir=args.data / "landing",
        warehouse=args.data / "warehouse.duckdb",
        out_dir=args.data / "out",
    )
    args.data.mkdir(parents=True, exist_ok=True)
    week = prepare(settings, args.sellers, args.days)
    cores = os.cpu_count() or 1

    base = baseline_page_seconds()
    stages, n, pages = breakdown(settings, week)
    total = sum(sum(v) for v in stages.values())
    print(f"\n{n} newsletters of {week}, {pages} pages ({pages / n:.1f} per newsletter)")
    print(f"baseline: a one-paragraph page lays out in {base * 1000:.0f} ms\n")
    print("where the time goes (single process, per newsletter):")
    for name, values in stages.items():
        print(
            f"  {name:<9} median {statistics.median(values) * 1000:7.1f} ms   "
            f"total {sum(values):6.1f} s   {sum(values) / total:6.1%}"
        )

    runs = {}
    for workers in (1, cores):
        t = time.perf_counter()
        result = render_week(settings, week, workers=workers)
        runs[workers] = time.perf_counter() - t
        assert len(result.newsletters) == n
    print("\nrender_week (query, draw, lay out, write files):")
    for workers, seconds in runs.items():
        print(
            f"  {workers} process(es): {seconds:6.1f} s   {n / seconds:5.2f} newsletters/s   "
            f"{seconds / pages:6.3f} s/page   = {seconds / pages / base:5.1f}x the baseline page"
            + (f"   speed-up {runs[1] / seconds:.2f}x" if workers != 1 else "")
        )

    print("\nweekly DAG's batches of 50 (one process per task, as Celery workers run them):")
    side = {processes: batches_side_by_side(settings, week, processes) for processes in (1, cores)}
    for processes, seconds in side.items():
        print(
            f"  {processes} at a time:     {seconds:6.1f} s   {n / seconds:5.2f} newsletters/s   "
            f"{seconds / pages:6.3f} s/page   = {seconds / pages / base:5.1f}x the baseline page"
            + (f"   speed-up {side[1] / seconds:.2f}x" if processes != 1 else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
