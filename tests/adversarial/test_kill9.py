"""`kill -9` of a real `cxn load` and `cxn build` at chosen points.

Each run is stopped at an exact point (`faults/sitecustomize.py` makes the process wait
there) and killed with SIGKILL. Afterwards the warehouse opens, the day is all there or
absent, the analysts' snapshot opens, and rerunning the command gives the same rows as a
run that was never interrupted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.schema import DATASETS
from pipeline.settings import Settings
from pipeline.synthetic import generate

ROOT = Path(__file__).resolve().parents[2]
FAULTS = Path(__file__).resolve().parent / "faults"
END = date(2026, 11, 22)
DAYS = 4
FIRST = END - timedelta(days=DAYS - 1)
LAST = END  # the day the killed commands load and build


def checksums(warehouse: Path) -> dict[str, str]:
    """Every raw and mart table and the rejected rows, each as one digest of its rows."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where schema_name in ('raw', 'marts') union all "
                "select schema_name, view_name from duckdb_views() "
                "where schema_name = 'marts' order by 1, 2"
            ).fetchall()
        ] + ["ops.rejected_rows"]
        return {
            table: hashlib.sha256(
                repr(con.execute(f"select * from {table} order by all").fetchall()).encode()
            ).hexdigest()
            for table in tables
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def marketplace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A landing zone; a warehouse with the days before LAST; the uninterrupted result."""
    root = tmp_path_factory.mktemp("kill9")
    landing = root / "landing"
    generate(landing, sellers=8, days=DAYS, end_date=END, seed=5)

    before = settings_for(root / "before", landing)
    for i in range(DAYS - 1):
        load_day(before, FIRST + timedelta(days=i))
    build(before, LAST - timedelta(days=1))

    loaded = settings_for(root / "loaded", landing)
    shutil.copytree(before.warehouse.parent, loaded.warehouse.parent, dirs_exist_ok=True)
    load_day(loaded, LAST)

    reference = settings_for(root / "reference", landing)
    shutil.copytree(loaded.warehouse.parent, reference.warehouse.parent, dirs_exist_ok=True)
    build(reference, LAST)
    return {
        "landing": landing,
        "before": before.warehouse.parent,
        "loaded": loaded.warehouse.parent,
        "reference": reference.warehouse,
    }


def settings_for(folder: Path, landing: Path) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    return Settings(landing_dir=landing, warehouse=folder / "warehouse.duckdb", out_dir=folder)


def kill_at(settings: Settings, stop_at: str, *args: str) -> None:
    """Run `cxn ARGS`, wait until it reaches `stop_at`, then SIGKILL it."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(FAULTS), str(ROOT)]),
        "CXN_TEST_STOP_AT": stop_at,
        "CXN_LANDING_DIR": str(settings.landing_dir),
        "CXN_WAREHOUSE": str(settings.warehouse),
        "CXN_OUT_DIR": str(settings.out_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    seen = []
    try:
        for line in proc.stderr:  # ends when the process exits
            seen.append(line)
            if line.startswith("CXN-STOPPED-AT"):
                os.kill(proc.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "the process never reached the point"
        else:
            pytest.fail(f"{stop_at} was never reached: {''.join(seen)[-2000:]}")
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def day_is_whole_or_absent(warehouse: Path, day: date) -> bool:
    """True when the day's load is committed with every row, False when none of it is."""
    con = duckdb.connect(str(warehouse))  # read-write: the write-ahead log is replayed
    try:
        logged = dict(
            con.execute(
                "select dataset, loaded from ops.load_log where load_date = ? "
                "and status = 'loaded'",
                [day],
            ).fetchall()
        )
        present = {
            name: con.execute(
                f"select count(*) from raw.{name} where _load_date = ?", [day]
            ).fetchall()[0][0]
            for name in DATASETS
        }
    finally:
        con.close()
    if not logged:
        assert set(present.values()) == {0}, present
        return False
    assert present == {name: logged.get(name, 0) for name in DATASETS}
    return True


LOAD_POINTS = [
    "pipeline.ingest.load:_verdicts:2",  # reading files, nothing written yet
    "pipeline.ingest.load:mark_superseded:1",  # in the transaction: rows deleted and inserted
    "pipeline.ingest.load:mark_superseded:10",  # the last statement before the commit
    "pipeline.ingest.load:LoadResult:1",  # just after the commit
]


@pytest.mark.parametrize("stop_at", LOAD_POINTS)
def test_kill_9_during_load(marketplace, tmp_path, stop_at):
    settings = settings_for(tmp_path, marketplace["landing"])
    shutil.copytree(marketplace["before"], tmp_path, dirs_exist_ok=True)

    kill_at(settings, stop_at, "load", "--date", str(LAST))

    committed = day_is_whole_or_absent(settings.warehouse, LAST)
    assert committed == (stop_at == LOAD_POINTS[-1])
    load_day(settings, LAST)
    build(settings, LAST)
    assert checksums(settings.warehouse) == checksums(marketplace["reference"])


BUILD_POINTS = [
    "pipeline.models.build:_materialize:2",  # early: staging
    "pipeline.models.build:_materialize:20",  # the marts are being written
    "pipeline.models.build:run_tests:1",  # every model done, data tests next, then the commit
    "pipeline.models.snapshot:_fsync:1",  # committed; the snapshot is written, not yet in place
]


@pytest.mark.parametrize("stop_at", BUILD_POINTS)
def test_kill_9_during_build(marketplace, tmp_path, stop_at):
    settings = settings_for(tmp_path, marketplace["landing"])
    shutil.copytree(marketplace["loaded"], tmp_path, dirs_exist_ok=True)
    snapshot = settings.analytics_path
    assert not snapshot.exists()

    kill_at(settings, stop_at, "build", "--as-of", str(LAST))

    con = duckdb.connect(str(settings.warehouse))  # opens; the log is replayed
    try:
        built = con.execute(
            "select count(*) from ops.build_log where as_of_date = ? and status = 'built'",
            [LAST],
        ).fetchall()[0][0]
        rows = con.execute(
            "select count(*) from marts.seller_metrics where as_of_date = ?", [LAST]
        ).fetchall()[0][0]
    finally:
        con.close()
    assert (built, rows > 0) in ((0, False), (1, True))
    assert built == (stop_at == BUILD_POINTS[-1])
    # The snapshot is only ever a whole file: not there yet, or complete.
    assert not snapshot.exists()
    build(settings, LAST)
    assert checksums(settings.warehouse) == checksums(marketplace["reference"])
