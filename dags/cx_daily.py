"""
### cx_daily — load one day of extracts, then rebuild the marts as of that day

Each run covers one UTC day: its data interval `[D 00:00, D+1 00:00)` is day **D**.

1. **load** — `{landing}/dt=D/*` into the append-only raw layer (all-or-nothing,
   idempotent; rejected rows land in `ops.rejected_rows` with their reason).
2. **build** — every SQL model of `sql/` as known at the end of D, then the data tests.

Rerunning (clearing) any run rebuilds that day with identical results. A backfill is a
date range: `airflow backfill create --dag-id cx_daily --from-date 2026-09-01 --to-date
2026-09-30` runs the days in order (`max_active_runs=1`). Both tasks write the DuckDB
warehouse, so they share the one-slot pool `duckdb_writer`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

DUCKDB_POOL = "duckdb_writer"


@dag(
    dag_id="cx_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    default_args={
        "owner": "cxn",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "pool": DUCKDB_POOL,
    },
    tags=["cxn", "daily"],
    doc_md=__doc__,
)
def cx_daily() -> None:
    @task
    def load() -> str:
        """Load day D of the landing zone into raw.* (replaces that day)."""
        from pipeline.load import load_day
        from pipeline.settings import Settings

        day = get_current_context()["data_interval_start"].date()
        result = load_day(Settings.from_env(), day)
        print(f"loaded {day}: {result.loaded} rows, {result.rejected} rejected")
        return day.isoformat()

    @task
    def build(day: str) -> str:
        """Build every model and mart as of day D and run the data tests."""
        from datetime import date

        from pipeline.build import build as build_as_of
        from pipeline.settings import Settings

        result = build_as_of(Settings.from_env(), date.fromisoformat(day))
        print(f"built as of {day}: {result.models} models, {result.tests} tests")
        return day

    build(load())


cx_daily()
