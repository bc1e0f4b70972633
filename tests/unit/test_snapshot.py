"""Analysts read the marts while the pipeline writes (issue 5): a reader process queries
the published snapshot in a loop while days are loaded, built and published; neither
side fails, and every read sees a complete snapshot (its row counts match its manifest)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta

import duckdb

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.models.snapshot import publish_snapshot
from pipeline.synthetic import generate

READER = r"""
import json, sys, time, duckdb
from pathlib import Path
path, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), open(sys.argv[3], "w")
while not stop.exists():
    if not path.exists():
        time.sleep(0.01)
        continue
    try:
        con = duckdb.connect(str(path), read_only=True)
        published, latest, counts = con.execute(
            "select published_at, latest_as_of_date, row_counts from meta.snapshot"
        ).fetchall()[0]
        counts = json.loads(counts)
        seen = {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in counts}
        dates = con.execute(
            "select count(distinct as_of_date), max(as_of_date) from marts.seller_scorecard"
        ).fetchall()[0]
        con.close()
        out.write(json.dumps({"published": str(published), "latest": str(latest),
                              "consistent": seen == counts and str(dates[1]) == str(latest),
                              "dates": dates[0]}) + "\n")
    except Exception as exc:
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
    out.flush()
"""


def test_reader_loops_while_builds_publish(settings, tmp_path):
    end = date(2026, 11, 22)
    generate(settings.landing_dir, sellers=6, days=12, end_date=end, seed=3)
    days = [end - timedelta(days=k) for k in range(11, -1, -1)]
    load_day(settings, days[0])
    build(settings, days[0])
    publish_snapshot(settings)

    stop, log = tmp_path / "stop", tmp_path / "reads.jsonl"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.analytics_path), str(stop), str(log)]
    )
    try:
        time.sleep(0.5)  # the reader is in its loop before the first rebuild
        for day in days[1:]:
            load_day(settings, day)
            build(settings, day)
            publish_snapshot(settings)
        time.sleep(0.3)
    finally:
        stop.touch()
        assert reader.wait(timeout=60) == 0

    reads = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [r["error"] for r in reads if "error" in r]
    assert errors == []
    assert len(reads) > 20
    assert all(r["consistent"] for r in reads)
    # The reader saw the snapshot move forward while it read: several versions.
    assert len({r["published"] for r in reads}) >= 3
    assert max(r["dates"] for r in reads) == len(days)
    # Nothing is left behind but the snapshot itself.
    assert sorted(p.name for p in settings.analytics_path.parent.glob("*analytics*")) == [
        "analytics.duckdb"
    ]


def test_snapshot_holds_the_marts_and_their_targets(settings):
    end = date(2026, 11, 22)
    generate(settings.landing_dir, sellers=3, days=3, end_date=end, seed=3)
    for k in (2, 1, 0):
        load_day(settings, end - timedelta(days=k))
    build(settings, end)
    # What a publish killed half-way leaves behind is cleaned up by the next one.
    stale = settings.analytics_path.with_name(".analytics.duckdb.999.tmp")
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half a file")
    snap = publish_snapshot(settings)
    assert not stale.exists()
    con = duckdb.connect(str(snap.path), read_only=True)
    tables = {
        f"{s}.{t}"
        for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    }
    assert {
        "marts.seller_metrics",
        "marts.seller_scorecard",
        "ref.metric_targets",
        "meta.snapshot",
    } <= tables
    assert not any(t.startswith(("raw.", "staging.")) for t in tables)
    # Of ops, what analysts need; the engine's bookkeeping stays in the warehouse.
    assert {t for t in tables if t.startswith("ops.")} == {
        "ops.load_log",
        "ops.rejected_rows",
        "ops.build_log",
        "ops.newsletter_outbox",
    }
    assert con.execute("select max(as_of_date) from marts.seller_metrics").fetchall() == [(end,)]
    con.close()
    # Publishing again without a build changes nothing but the timestamp.
    again = publish_snapshot(settings)
    assert again.tables == snap.tables


def _contents(path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in ('marts', 'ref') union all "
            "select schema_name, view_name from duckdb_views() "
            "where schema_name in ('marts', 'ref') order by 1, 2"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f"select * from {s}.{t} order by all").fetchall()
            for s, t in tables
        }
    finally:
        con.close()


def test_a_patched_snapshot_equals_a_fresh_copy(settings, tmp_path):
    """Publishing copies the previous snapshot and adds what the builds since changed
    (new as-of partitions, the order_outcomes rows that moved): the same as copying all."""
    from dataclasses import replace

    end = date(2026, 11, 22)
    days = [end - timedelta(days=k) for k in range(9, -1, -1)]
    generate(settings.landing_dir, sellers=6, days=10, end_date=end, seed=5)
    for day in days[:6]:
        load_day(settings, day)
        build(settings, day)
    publish_snapshot(settings)
    for day in days[6:]:  # incremental builds: order_outcomes moves by its changed rows
        load_day(settings, day)
        assert build(settings, day).mode == "incremental"
    build(settings, days[2])  # a rerun of an older partition too
    patched = publish_snapshot(settings)
    fresh = publish_snapshot(replace(settings, analytics_db=tmp_path / "fresh.duckdb"))
    assert patched.patched and not fresh.patched
    assert patched.tables == fresh.tables
    assert _contents(patched.path) == _contents(fresh.path)
    con = duckdb.connect(str(patched.path), read_only=True)
    assert con.execute("select max(as_of_date) from marts.order_outcomes").fetchall() == [(end,)]
    con.close()


def test_a_snapshot_of_an_earlier_layout_is_patched_into_the_new_one(settings):
    """A snapshot published before it carried the ops tables gets them on the next
    publish (found running the demo over an older data folder)."""
    end = date(2026, 11, 22)
    generate(settings.landing_dir, sellers=3, days=3, end_date=end, seed=2)
    for k in (2, 1, 0):
        load_day(settings, end - timedelta(days=k))
    build(settings, end)
    first = publish_snapshot(settings)
    con = duckdb.connect(str(first.path))
    con.execute("drop schema ops cascade")
    con.close()
    again = publish_snapshot(settings)
    assert again.patched
    con = duckdb.connect(str(again.path), read_only=True)
    assert con.execute("select count(*) from ops.load_log").fetchall()[0][0] > 0
    con.close()
