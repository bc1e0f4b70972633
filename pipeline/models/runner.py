"""Load and build a range of days in one pass: what `cxn run` and the demo do."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, timedelta

from pipeline.errors import CxnError
from pipeline.ingest.load import LoadResult, load_days
from pipeline.models.build import BuildResult, build_days
from pipeline.progress import Step
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def run_range(
    settings: Settings,
    first: date,
    last: date,
    *,
    build_day: Callable[[date], bool] = lambda d: True,
    progress: Callable[[str], None] | None = None,
) -> tuple[int, int]:
    """Load then build every day of [first, last] (a backfill). Returns (loaded, built).

    One pass: each dataset's files of many days are read and checked together
    (`load_days`), then each date is built, incrementally from the one before. The marts
    are those of loading and building day by day; a day that fails to load stops the run
    there, after the days before it are built.
    """
    if last < first:
        raise CxnError(f"--to {last} is before --from {first}")
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    started = time.perf_counter()

    done: list[date] = []

    def loaded(result: LoadResult) -> None:
        done.append(result.load_date)
        if progress:
            line = f"loaded {result.load_date}: {result.loaded:,} rows"
            line += f" ({result.rejected} rejected)" if result.rejected else ""
            progress(Step(len(done), len(days), "load", line))

    failure: CxnError | None = None
    try:
        load_days(settings, days, progress=loaded)
        good = days
    except CxnError as exc:  # the days before the failing one are loaded: build them
        failure = exc
        good = done
    wanted = [day for day in good if build_day(day)]

    built_dates: list[date] = []

    def built(result: BuildResult) -> None:
        built_dates.append(result.as_of)
        if progress:
            line = f"built {result.as_of} ({result.mode}) in {result.seconds:.1f}s"
            progress(Step(len(built_dates), len(wanted), "build", line))

    build_days(settings, wanted, progress=built)
    log.info("ran %d days in %.1fs", len(good), time.perf_counter() - started)
    if failure is not None:
        raise failure
    return len(good), len(wanted)
