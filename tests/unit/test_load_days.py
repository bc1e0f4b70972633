"""Loading many days at once (a backfill) writes exactly what loading them one by one does."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipeline.errors import LoadError
from pipeline.ingest.load import load_day, load_days
from pipeline.settings import Settings
from pipeline.synthetic import generate

END = date(2026, 11, 22)
DAYS = 20
FIRST = END - timedelta(days=DAYS - 1)
DAY = [FIRST + timedelta(days=i) for i in range(DAYS)]


def tables(warehouse: Path) -> dict[str, str]:
    """Every raw table and the rejected rows and load log (but its clock) as digests."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            f"raw.{r[0]}"
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw'"
            ).fetchall()
        ]
        queries = {n: f"select * from {n}" for n in names}
        queries["ops.rejected_rows"] = "select * from ops.rejected_rows"
        queries["ops.load_log"] = "select * exclude (loaded_at) from ops.load_log"
        queries["ops.pending_state"] = "select * from ops.pending_state"
        return {
            n: hashlib.sha256(
                repr(con.execute(f"{q} order by all").fetchall()).encode()
            ).hexdigest()
            for n, q in queries.items()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("load-days") / "landing"
    result = generate(root, sellers=30, days=DAYS, end_date=END, seed=4)
    assert result.malformed > 0 and result.late > 0
    # Other formats on some days: a gzip, a parquet, and a file only Python's reader
    # can explain (a ragged record), so every path of the batched reader runs.
    gz = root / f"dt={DAY[3]}" / "orders.csv"
    gz.with_suffix(".csv.gz").write_bytes(gzip.compress(gz.read_bytes()))
    gz.unlink()
    shipments = root / f"dt={DAY[5]}" / "shipments.csv"
    con = duckdb.connect()
    con.execute(
        f"copy (select * from read_csv('{shipments}', all_varchar = true)) "
        f"to '{shipments.with_suffix('.parquet')}' (format parquet)"
    )
    shipments.unlink()
    ragged = root / f"dt={DAY[7]}" / "orders.csv"
    with ragged.open("a") as f:
        f.write("O-RAGGED,S0001\n")
    return root


def test_many_days_at_once_equal_one_by_one(landing, tmp_path):
    one = Settings(landing, tmp_path / "one.duckdb", tmp_path / "out")
    many = Settings(landing, tmp_path / "many.duckdb", tmp_path / "out")
    for day in DAY:
        load_day(one, day)
    results = load_days(many, DAY)
    assert [r.load_date for r in results] == DAY
    assert tables(many.warehouse) == tables(one.warehouse)
    con = duckdb.connect(str(many.warehouse), read_only=True)
    reasons = [r[0] for r in con.execute("select reason from ops.rejected_rows").fetchall()]
    con.close()
    assert "expected 13 fields as in the header, found 2" in reasons


def test_a_bad_day_stops_the_run_where_one_by_one_would(landing, tmp_path):
    bad = tmp_path / "landing"
    shutil.copytree(landing, bad)
    (bad / f"dt={DAY[12]}" / "claims.csv").write_text("claim_id\nC1\n")  # no required columns
    one = Settings(bad, tmp_path / "one.duckdb", tmp_path / "out")
    many = Settings(bad, tmp_path / "many.duckdb", tmp_path / "out")
    for day in DAY[:12]:
        load_day(one, day)
    with pytest.raises(LoadError) as expected:
        load_day(one, DAY[12])
    with pytest.raises(LoadError) as got:
        load_days(many, DAY)
    assert str(got.value) == str(expected.value)
    assert str(got.value).startswith(f"dt={DAY[12]}/claims.csv: missing required column")
    assert tables(many.warehouse) == tables(one.warehouse)


def test_a_missing_folder_stops_the_run(landing, tmp_path):
    gap = tmp_path / "landing"
    shutil.copytree(landing, gap)
    shutil.rmtree(gap / f"dt={DAY[4]}")
    many = Settings(gap, tmp_path / "many.duckdb", tmp_path / "out")
    with pytest.raises(LoadError, match=f"no extracts for {DAY[4]}"):
        load_days(many, DAY)
    con = duckdb.connect(str(many.warehouse), read_only=True)
    loaded = [
        r[0]
        for r in con.execute("select distinct load_date from ops.load_log order by 1").fetchall()
    ]
    con.close()
    assert loaded == DAY[:4]
