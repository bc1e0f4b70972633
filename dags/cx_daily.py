"""
### cx_daily — wait for one day of extracts, load it, rebuild the marts as of that day

Each run covers one UTC day: its data interval `[D 00:00, D+1 00:00)` is day **D**.

1. **wait_for_extracts** — a sensor (reschedule mode: it holds no worker slot while it
   waits) for `{landing}/dt=D/_SUCCESS`, the marker the extract job writes last. It fails
   with the missing file's path when the marker is not there 12 hours after D ended.
2. **load** — `{landing}/dt=D/*` into the append-only raw layer (all-or-nothing,
   idempotent; rejected rows land in `ops.rejected_rows` with their reason).
3. **build** — every SQL model of `sql/` as known at the end of D.
4. **check** — the data tests of `sql/tests/` against the marts as committed.
5. **publish** — copies the marts to the analysts' read-only snapshot (replaced
   atomically) and updates the Airflow asset `cxn_marts`, which downstream DAGs can be
   scheduled on.

The first day is `CXN_START_DATE`, or when it is not set the landing zone's first `dt=`
folder (so after `make demo`, the demo's days). Unpausing runs every day from there that
has no run yet (catchup), oldest first. A backfill needs the DAG unpaused (Airflow 3).

Rerunning (clearing) any run rebuilds that day with identical results. A backfill is a
date range: `airflow backfill create --dag-id cx_daily --from-date 2026-09-01 --to-date
2026-09-30 --max-active-runs 1` runs the days in order (a backfill has its own limit,
10 by default; `build` also refuses a day while an earlier one is unloaded). Every task
that opens the DuckDB warehouse runs in the one-slot pool `duckdb_writer`.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, dag, get_current_context, task

from pipeline.settings import Settings, daily_start_date

DUCKDB_POOL = "duckdb_writer"
# The marts as analysts see them; `cx_weekly_newsletter` and others may schedule on it.
MARTS_ASSET = Asset(name="cxn_marts", uri="cxn://warehouse/marts")
EXTRACTS_DEADLINE = timedelta(hours=12)
# The first day of extracts: CXN_START_DATE, else the landing zone's first dt= folder.
# Unpausing the DAG runs every day from here on that has no run yet (catchup): a day never
# loaded would be missing from every later build.
START_DATE = pendulum.instance(
    datetime.combine(
        daily_start_date(os.environ.get("CXN_START_DATE"), Settings.from_env().landing_dir),
        time(0),
    ),
    tz="UTC",
)


def _day():  # type: ignore[no-untyped-def]
    start = get_current_context()["data_interval_start"]
    if start is None:
        raise ValueError(
            "this run has no data interval: trigger it with a logical date "
            "(the day after the day to load, e.g. 2026-11-23 for 2026-11-22)"
        )
    return start.date()


@dag(
    dag_id="cx_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START_DATE,
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
    @task.sensor(
        mode="reschedule",
        poke_interval=timedelta(minutes=5),
        # A backstop: the task's own deadline below fails first, with a clearer message.
        timeout=EXTRACTS_DEADLINE + timedelta(days=1),
        pool="default_pool",
        retries=0,
    )
    def wait_for_extracts() -> bool:
        """Wait for `dt=D/_SUCCESS`; fail clearly if it is 12 h late."""
        from datetime import UTC, datetime

        from pipeline.ingest.load import extracts_ready
        from pipeline.settings import Settings

        day = _day()
        ready = extracts_ready(
            Settings.from_env(), day, now=datetime.now(UTC), deadline=EXTRACTS_DEADLINE
        )
        print(f"extracts of {day}: {'complete' if ready else 'not complete yet'}")
        return ready

    @task
    def load() -> str:
        """Load day D of the landing zone into raw.* (replaces that day)."""
        from pipeline.ingest.load import load_day
        from pipeline.settings import Settings

        day = _day()
        result = load_day(Settings.from_env(), day)
        print(f"loaded {day}: {result.loaded} rows, {result.rejected} rejected")
        return day.isoformat()

    @task
    def build(day: str) -> str:
        """Build every model and mart as of day D."""
        from datetime import date

        from pipeline.models.build import build as build_as_of
        from pipeline.models.build import require_history_loaded
        from pipeline.settings import Settings

        settings = Settings.from_env()
        # A backfill runs up to --max-active-runs days at once; never build a day while an
        # earlier one is still unloaded (its failed load would be missing from this build).
        require_history_loaded(settings, date.fromisoformat(day))
        result = build_as_of(settings, date.fromisoformat(day))
        print(f"built as of {day}: {result.models} models in {result.seconds:.1f}s")
        return day

    @task
    def check(day: str) -> str:
        """Run the SQL data tests against the marts as of day D."""
        from datetime import date

        from pipeline.models.build import check as check_as_of
        from pipeline.settings import Settings

        tests = check_as_of(Settings.from_env(), date.fromisoformat(day))
        print(f"{tests} data tests passed as of {day}")
        return day

    @task(outlets=[MARTS_ASSET])
    def publish(day: str) -> dict[str, object]:
        """Copy the marts to the analysts' snapshot; mark the asset updated."""
        from pipeline.models.snapshot import publish_snapshot
        from pipeline.settings import Settings

        snap = publish_snapshot(Settings.from_env())
        print(f"published {len(snap.tables)} tables to {snap.path} in {snap.seconds:.1f}s")
        return {"as_of": day, "snapshot": str(snap.path), "latest_as_of": str(snap.latest_as_of)}

    loaded = load()
    wait_for_extracts() >> loaded
    publish(check(build(loaded)))


cx_daily()
