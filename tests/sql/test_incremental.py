"""The incremental build gives the marts of the full build, bit for bit (issue 10).

One warehouse gets a generated marketplace's days loaded in order (with versions that
arrive days late). Every date is built twice: incrementally (the default: the
day's change on top of the day before) and with `full=True` (every model from the
staging views, the reference); the marts of the two builds must be identical, row for
row and value for value. Along the way the awkward cases: a date after a gap, a date
rebuilt after later ones, dates built out of order, two days loaded before either is
built, and an old day reloaded with different content after later days were built.
The full builds leave the engine's state alone, so each incremental build starts from
what the incremental builds before it left.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.settings import Settings
from pipeline.synthetic import generate

END = date(2026, 11, 22)
DAYS = 62
FIRST = END - timedelta(days=DAYS - 1)
DAY = [FIRST + timedelta(days=i) for i in range(DAYS)]


def marts_as_of(warehouse: Path, day: date) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select distinct table_name from duckdb_columns() "
                "where schema_name = 'marts' and column_name = 'as_of_date' order by 1"
            ).fetchall()
        ]
        return {
            n: con.execute(
                f"select * from marts.{n} where as_of_date = ? order by all", [day]
            ).fetchall()
            for n in names
        }
    finally:
        con.close()


def drop_a_feedback_row(landing: Path, days: list[date]) -> date:
    """Change an old day's extract: its first negative feedback row disappears."""
    for day in days:
        path = landing / f"dt={day}" / "feedback.csv"
        if not path.is_file():
            continue
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        negative = [i for i, r in enumerate(rows[1:], 1) if r[2] in ("1", "2")]
        if negative:
            kept = rows[: negative[0]] + rows[negative[0] + 1 :]
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(kept)
            path.write_text(buf.getvalue(), encoding="utf-8")
            return day
    raise AssertionError("no negative feedback to drop")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("incremental")
    result = generate(root / "landing", sellers=8, days=DAYS, end_date=END, seed=3)
    assert result.late > 0  # versions that arrive in a later folder than their date
    return Settings(root / "landing", root / "warehouse.duckdb", root / "out")


def test_incremental_builds_equal_full_builds(settings, monkeypatch):
    from pipeline.models import engine

    # Orders unchanged for 5 days move to the dormant table: the daily update's look-ups
    # there (late feedback and claims wake orders up) take part too.
    monkeypatch.setattr(engine, "DORMANT_AFTER_DAYS", 5)
    modes: list[str] = []
    compared = 0

    def build_both(day: date) -> None:
        nonlocal compared
        modes.append(build(settings, day).mode)
        incremental = marts_as_of(settings.warehouse, day)
        assert build(settings, day, full=True).mode == "full"
        full = marts_as_of(settings.warehouse, day)
        for name, rows in full.items():
            assert incremental[name] == rows, f"{name} as of {day} ({modes[-1]})"
        compared += 1

    for i, day in enumerate(DAY[:40]):
        load_day(settings, day)
        if i != 25:  # a gap: day 26 is built after day 24
            build_both(day)
    build_both(DAY[10])  # a rerun of an old date after later ones
    build_both(DAY[25])  # the date skipped, now, out of order
    build_both(DAY[39])  # the newest again

    # An old day reloaded with different content after later days were built: its own
    # date and every later one see the change.
    changed = drop_a_feedback_row(settings.landing_dir, DAY[28:38])
    load_day(settings, changed)
    build_both(changed)
    for day in DAY[40:50]:
        load_day(settings, day)
        build_both(day)

    # Two days loaded before either is built.
    load_day(settings, DAY[50])
    load_day(settings, DAY[51])
    build_both(DAY[50])
    build_both(DAY[51])
    for day in DAY[52:]:
        load_day(settings, day)
        build_both(day)

    assert compared == len(modes) == 65
    assert modes.count("incremental") >= 55, modes
    assert {"incremental", "histories", "reuse"} == set(modes)


def test_a_backfill_in_one_pass_equals_full_builds(settings, tmp_path, monkeypatch):
    """`cxn run`'s path: all days loaded first, then each date built on one connection
    (the histories built once from raw for the whole range, with most current rows
    dormant: the dormancy is shortened to 3 days so that every table of the order history
    takes part; order_outcomes built for the last date only). Every date's marts are
    then compared with a full build of that date."""
    from dataclasses import replace

    from pipeline.models import engine
    from pipeline.models.runner import run_range

    monkeypatch.setattr(engine, "DORMANT_AFTER_DAYS", 3)
    one_pass = replace(settings, warehouse=tmp_path / "one-pass.duckdb")
    days = DAY[:30]
    run_range(one_pass, days[0], days[-1], progress=None)
    con = duckdb.connect(str(one_pass.warehouse), read_only=True)
    statuses = [r[0] for r in con.execute("select status from ops.build_log").fetchall()]
    dormant = con.execute("select count(*) from intermediate.order_state_dormant").fetchall()
    con.close()
    assert len(statuses) == len(days) and set(statuses) == {"built"}
    assert dormant[0][0] > 0
    got = {day: marts_as_of(one_pass.warehouse, day) for day in days}
    assert got[days[0]]["order_outcomes"] == [] and got[days[-1]]["order_outcomes"]
    for day in days:
        build(one_pass, day, full=True)
        for name, rows in marts_as_of(one_pass.warehouse, day).items():
            if name == "order_outcomes" and day != days[-1]:
                continue  # the most recent date only
            assert got[day][name] == rows, f"{name} as of {day}"
