"""Arbitrary bytes, quoting and encodings into the loader: a load or a clear error, always.

Whatever a file holds, `load_day` either loads the day (every record loaded, dropped as
an identical copy, or rejected with a reason) or raises a one-line `LoadError` that
names the file, and then the warehouse is exactly as it was before. Never a traceback,
never half a day.

`CXN_FUZZ_EXAMPLES` raises the number of examples for a longer hunt on a workstation
(the suite's default is derandomized, so CI runs the same examples every time).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import LoadError
from pipeline.ingest.load import LoadResult, load_day
from pipeline.schema import BOOL, DATASETS, DATE, DECIMAL, INT, TIMESTAMP
from tests.adversarial.conftest import settings_in
from tests.extracts import seller, write_extract

DAY1, DAY2 = date(2026, 11, 19), date(2026, 11, 20)
EXAMPLES = int(os.environ.get("CXN_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="CXN_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# ---------------------------------------------------------------------------------------
# What a file may hold

NASTY = st.sampled_from(
    ['"', '""', ",", "\n", "\r\n", "\r", "\x00", "\t", "'", "\\", "é", "東京", "\ufeff", "\u2028"]
)
TEXT = st.text(max_size=12) | st.lists(NASTY | st.text(max_size=3), max_size=6).map("".join)
GOOD = {
    TIMESTAMP: st.sampled_from(
        ["2026-11-20T01:00:00Z", "2026-11-19T10:00:00+02:00", "2026-11-20 03:00:00.5Z"]
    ),
    DATE: st.sampled_from(["2026-11-22", "2026-01-01"]),
    INT: st.sampled_from(["0", "1", "3", "5", "-1", "99999999999"]),
    DECIMAL: st.sampled_from(["0", "9.99", "12.345", ".5", "1e3"]),
    BOOL: st.sampled_from(["true", "false", "TRUE", "yes"]),
}


@st.composite
def values(draw: st.DrawFn, dataset: str) -> dict[str, str]:
    row: dict[str, str] = {}
    for col in DATASETS[dataset].columns:
        if col.name == "seller_id":
            good = st.sampled_from(["S1", "S2", "../x", ""])
        elif col.enum:
            good = st.sampled_from([*col.enum, ""])
        else:
            good = GOOD.get(col.kind, st.sampled_from(["A1", "B2", "x@example.com"]))
        row[col.name] = draw(good | TEXT)
    return row


@st.composite
def csv_text(draw: st.DrawFn, dataset: str) -> str:
    columns = list(DATASETS[dataset].column_names)
    if draw(st.booleans()):  # a header that is not quite the contract's
        columns = draw(st.permutations(columns))
        columns = columns[: draw(st.integers(len(columns) - 2, len(columns)))]
        columns += draw(st.lists(TEXT, max_size=2))
    rows = draw(st.lists(values(dataset), max_size=6))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE]))
    buf = io.StringIO()
    writer = csv.writer(
        buf,
        quoting=quoting,
        escapechar="\\",
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
    )

    def write(fields: list[str]) -> None:
        try:
            writer.writerow(fields)
        except csv.Error:  # what QUOTE_NONE cannot write: write it raw, the reader decides
            buf.write(",".join(fields) + "\n")

    write(columns)
    for row in rows:
        fields = [row.get(c, draw(TEXT)) for c in columns]
        if draw(st.integers(0, 9)) == 0:  # a ragged record
            fields = fields[: draw(st.integers(0, len(fields)))]
        write(fields)
    text = buf.getvalue()
    if draw(st.booleans()):  # cut it anywhere: inside a quote, a record, a character
        text = text[: draw(st.integers(0, len(text)))]
    return text


ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"])


@st.composite
def file_bytes(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """(dataset, file suffix, content)."""
    dataset = draw(st.sampled_from(sorted(DATASETS)))
    kind = draw(st.sampled_from(["bytes", "csv", "csv", "csv", "gz", "parquet", "parquet-bytes"]))
    if kind == "bytes":
        return dataset, "csv", draw(st.binary(max_size=400))
    if kind == "parquet-bytes":
        data = draw(st.binary(max_size=200))
        return dataset, "parquet", draw(st.sampled_from([b"PAR1" + data + b"PAR1", data]))
    if kind == "parquet":
        rows = draw(st.lists(values(dataset), max_size=5))
        columns = list(DATASETS[dataset].column_names)
        columns = columns[: draw(st.integers(len(columns) - 1, len(columns)))]
        table = pa.table({c: pa.array([r[c] or None for r in rows], pa.string()) for c in columns})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return dataset, "parquet", sink.getvalue()
    encoded = draw(csv_text(dataset)).encode(draw(ENCODINGS), errors="replace")
    if kind == "gz":
        packed = bytearray(gzip.compress(encoded, mtime=0))
        damage = draw(st.sampled_from(["none", "truncated", "flipped", "flipped"]))
        if damage == "truncated":
            cut = draw(st.integers(0, len(packed)))
            packed = packed[:cut] + draw(st.binary(max_size=8))
        elif damage == "flipped":  # bits flipped inside the deflate stream
            for _ in range(draw(st.integers(1, 8))):
                i = draw(st.integers(10, max(10, len(packed) - 9)))
                if i < len(packed):
                    packed[i] ^= draw(st.integers(1, 255))
        return dataset, "csv.gz", bytes(packed)
    return dataset, "csv", encoded


# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def landing_and_warehouse(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fuzz")
    settings_ = settings_in(root)
    write_extract(settings_.landing_dir, DAY1, "sellers", [seller("S1"), seller("S2")])
    load_day(settings_, DAY1)
    return settings_


def warehouse_state(path: Path) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [f"raw.{name}" for name in DATASETS] + ["ops.rejected_rows"]
        return tuple(
            tuple(con.execute(f"select * from {table} order by all").fetchall()) for table in tables
        )
    finally:
        con.close()


@FUZZ
@given(found=file_bytes())
def test_any_file_loads_or_fails_with_one_line_and_nothing_written(
    landing_and_warehouse, found: tuple[str, str, bytes]
):
    settings_ = landing_and_warehouse
    dataset, suffix, content = found
    folder = settings_.landing_dir / f"dt={DAY2}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / f"{dataset}.{suffix}").write_bytes(content)
    before = warehouse_state(settings_.warehouse)

    try:
        result = load_day(settings_, DAY2)
    except LoadError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message
        assert message.startswith(f"dt={DAY2}/{dataset}"), message
        assert warehouse_state(settings_.warehouse) == before
        return
    assert isinstance(result, LoadResult)
    (file,) = result.files
    assert file.loaded + file.rejected + file.duplicates == file.records
    con = duckdb.connect(str(settings_.warehouse), read_only=True)
    try:
        loaded = con.execute(
            f"select count(*) from raw.{dataset} where _load_date = ?", [DAY2]
        ).fetchall()[0][0]
        reasons = con.execute(
            "select reason from ops.rejected_rows where load_date = ?", [DAY2]
        ).fetchall()
    finally:
        con.close()
    assert (loaded, len(reasons)) == (file.loaded, file.rejected)
    assert all(r and "\n" not in r for (r,) in reasons)
