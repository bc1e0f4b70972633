"""The loader: every rejection rule of SPEC §2, all-or-nothing days, idempotent reloads."""

from __future__ import annotations

import gzip
from datetime import date

import duckdb
import pytest

from pipeline.errors import LoadError
from pipeline.ingest.load import load_day
from tests.extracts import order, seller, write_extract

DAY = date(2026, 11, 20)
HEADER = (
    "order_id,seller_id,purchased_at,last_updated_at,order_status,fulfillment_channel,"
    "product_line,sku,quantity,item_price,currency,latest_ship_date,latest_delivery_date"
)
GOOD = (
    "O{n},S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,MFN,Toys,A,1,9.99,USD,"
    "2026-11-22,2026-11-27"
)


def q(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def write_raw(settings, day: date, name: str, text: str) -> None:
    folder = settings.landing_dir / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def with_sellers(settings, day: date = DAY) -> None:
    write_extract(settings.landing_dir, day, "sellers", [seller("S1")])


def test_each_broken_rule_is_rejected_with_its_line_and_column(settings):
    with_sellers(settings)
    bad = [
        # line 1 is good
        GOOD.format(n=1),
        # 2: MFN order without a promise date
        "O2,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,MFN,Toys,A,1,9.99,USD,,",
        # 3: AFN order without promise dates is fine
        "O3,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,Toys,A,1,9.99,USD,,",
        # 4: unknown seller
        "O4,S9,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,Toys,A,1,9.99,USD,,",
        # 5: from the future
        "O5,S1,2026-11-20T09:00:00Z,2026-11-21T00:00:00Z,unshipped,AFN,Toys,A,1,9.99,USD,,",
        # 6: value outside its enum
        "O6,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,shipped?,AFN,Toys,A,1,9.99,USD,,",
        # 7: event after its own last_updated_at
        "O7,S1,2026-11-20T10:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,Toys,A,1,9.99,USD,,",
        # 8: not an integer
        "O8,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,Toys,A,1.5,9.99,USD,,",
        # 9: required value empty
        "O9,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,,A,1,9.99,USD,,",
        # 10: impossible date
        "O10,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,MFN,Toys,A,1,9.99,USD,2026-02-30,2026-11-27",
        # 11: too few fields
        "O11,S1,2026-11-20T09:00:00Z",
        # 12, 13: same key and last_updated_at, different values: both rejected
        "O12,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,Toys,A,1,9.99,USD,,",
        "O12,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,Toys,B,1,9.99,USD,,",
        # 14, 15: identical copies count as one record
        "O14,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,Toys,A,1,9.99,USD,,",
        "O14,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,Toys,A,1,9.99,USD,,",
        # 16: quantity below its range
        "O16,S1,2026-11-20T09:00:00Z,2026-11-20T09:00:00Z,unshipped,AFN,Toys,A,-1,9.99,USD,,",
    ]
    write_raw(settings, DAY, "orders.csv", HEADER + "\n" + "\n".join(bad) + "\n")
    from dataclasses import replace

    result = load_day(replace(settings, max_reject_rate=1.0), DAY)

    loaded = [r[0] for r in q(settings, "select order_id from raw.orders order by _line")]
    assert loaded == ["O1", "O3", "O14"]
    rejected = dict(
        q(settings, "select line, reason from ops.rejected_rows where dataset = 'orders'")
    )
    assert sorted(rejected) == [2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16]
    assert rejected[2].startswith("column latest_ship_date: empty")
    assert rejected[4] == (
        "column seller_id: unknown seller 'S9' (no sellers row in this folder or an earlier one)"
    )
    assert rejected[5].startswith("column last_updated_at: 2026-11-21T00:00:00Z is in the future")
    assert "column order_status: 'shipped?' is not one of pending" in rejected[6]
    assert rejected[7].startswith("column purchased_at: 2026-11-20T10:00:00Z is after")
    assert rejected[8] == "column quantity: '1.5' is not an integer"
    assert rejected[9] == "column product_line: empty, but a value is required"
    assert rejected[10] == "column latest_ship_date: '2026-02-30' is not a date (YYYY-MM-DD)"
    assert rejected[11] == "expected 13 fields as in the header, found 3"
    assert "appears with different values on lines 12, 13" in rejected[12]
    assert rejected[12] == rejected[13]
    assert rejected[16] == "column quantity: '-1' is outside >= 0"
    orders_file = next(f for f in result.files if f.dataset == "orders")
    assert (orders_file.records, orders_file.loaded, orders_file.rejected) == (16, 3, 12)
    assert orders_file.duplicates == 1
    raw_text = q(settings, "select raw from ops.rejected_rows where line = 11")[0][0]
    assert raw_text == "O11,S1,2026-11-20T09:00:00Z"


def test_too_many_rejects_fail_the_day_and_write_nothing(settings):
    with_sellers(settings)
    rows = [GOOD.format(n=n) for n in range(1, 20)]
    rows.append(GOOD.format(n=20).replace("unshipped", "lost"))  # 1 of 20 = 5 %: allowed
    write_raw(settings, DAY, "orders.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    load_day(settings, DAY)
    assert q(settings, "select count(*) from raw.orders") == [(19,)]

    rows.append(GOOD.format(n=21).replace("unshipped", "lost"))  # 2 of 21 = 9.5 %
    write_raw(settings, DAY, "orders.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(LoadError) as err:
        load_day(settings, DAY)
    assert str(err.value).startswith(
        "dt=2026-11-20/orders.csv: 2 of 21 records rejected (9.5% > 5% allowed); first: line 20:"
    )
    # The earlier successful load of the day is untouched: the failed one wrote nothing.
    assert q(settings, "select count(*) from raw.orders") == [(19,)]
    assert q(settings, "select count(*) from ops.rejected_rows") == [(1,)]
    assert q(settings, "select status from ops.load_log where dataset = '*'") == [("failed",)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            HEADER.replace(",sku", "") + "\n",
            "dt=2026-11-20/orders.csv: missing required column 'sku' in the header",
        ),
        (
            HEADER + "\n" + GOOD.format(n=1) + '\n"O2,S1\n',
            "dt=2026-11-20/orders.csv: record 2 (file line 3): cannot parse CSV",
        ),
        ("", "dt=2026-11-20/orders.csv: the file is empty (no header row)"),
    ],
)
def test_a_broken_file_fails_the_day_with_one_line_naming_it(settings, content, message):
    with_sellers(settings)
    write_raw(settings, DAY, "orders.csv", content)
    with pytest.raises(LoadError) as err:
        load_day(settings, DAY)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
    # All-or-nothing: the valid sellers file of the same day was not written either.
    assert q(settings, "select count(*) from raw.sellers") == [(0,)]


def test_not_utf8_names_the_line(settings):
    with_sellers(settings)
    folder = settings.landing_dir / f"dt={DAY}"
    (folder / "orders.csv").write_bytes((HEADER + "\n").encode() + b"O1,S1,\xff\xfe\n")
    with pytest.raises(LoadError, match=r"orders.csv: file line 2: not valid UTF-8"):
        load_day(settings, DAY)


def test_reloading_a_day_is_idempotent(settings):
    with_sellers(settings)
    write_extract(
        settings.landing_dir, DAY, "orders", [order("O1", "2026-11-20"), order("O2", "2026-11-20")]
    )
    load_day(settings, DAY)
    first = q(settings, "select * from raw.orders order by order_id")
    load_day(settings, DAY)
    assert q(settings, "select * from raw.orders order by order_id") == first
    assert q(settings, "select count(*) from raw.sellers") == [(1,)]


def test_seller_check_sees_earlier_folders_and_the_same_folder(settings):
    write_extract(settings.landing_dir, "2026-11-19", "sellers", [seller("S1")])
    write_extract(settings.landing_dir, "2026-11-19", "orders", [order("O1", "2026-11-19")])
    load_day(settings, date(2026, 11, 19))
    # S2 registers on the 20th, in the same folder as its first order.
    write_extract(settings.landing_dir, DAY, "sellers", [seller("S2")])
    write_extract(
        settings.landing_dir,
        DAY,
        "orders",
        [order("O2", "2026-11-20"), order("O3", "2026-11-20", seller_id="S2")],
    )
    load_day(settings, DAY)
    assert q(settings, "select count(*) from raw.orders") == [(3,)]
    assert q(settings, "select count(*) from ops.rejected_rows") == [(0,)]


def test_late_row_in_a_later_folder_is_accepted(settings):
    with_sellers(settings, date(2026, 11, 18))
    load_day(settings, date(2026, 11, 18))
    # Updated on the 18th, delivered in the folder of the 20th.
    write_extract(
        settings.landing_dir,
        DAY,
        "orders",
        [order("O1", "2026-11-18", updated="2026-11-18T12:00:00Z")],
    )
    load_day(settings, DAY)
    assert q(settings, "select order_id, _load_date from raw.orders") == [("O1", DAY)]


def test_gzip_and_parquet_extracts(settings):
    with_sellers(settings)
    text = HEADER + "\n" + GOOD.format(n=1) + "\n"
    folder = settings.landing_dir / f"dt={DAY}"
    (folder / "orders.csv.gz").write_bytes(gzip.compress(text.encode()))
    con = duckdb.connect()
    con.execute(
        "copy (select 'C1' as order_id, timestamp '2026-11-20 08:00:00' as cancelled_at, "
        "'buyer' as initiated_by, null as reason, "
        "timestamp '2026-11-20 08:00:00' as last_updated_at) "
        f"to '{folder / 'cancellations.parquet'}' (format parquet)"
    )
    load_day(settings, DAY)
    assert q(settings, "select order_id from raw.orders") == [("O1",)]
    assert q(settings, "select order_id, initiated_by, _line from raw.cancellations") == [
        ("C1", "buyer", 1)
    ]


def test_two_files_for_one_dataset_is_an_error(settings):
    with_sellers(settings)
    folder = settings.landing_dir / f"dt={DAY}"
    write_raw(settings, DAY, "orders.csv", HEADER + "\n")
    (folder / "orders.csv.gz").write_bytes(gzip.compress(HEADER.encode()))
    with pytest.raises(LoadError, match=r"both orders\.csv and orders\.csv\.gz"):
        load_day(settings, DAY)


def test_missing_day_folder(settings):
    with pytest.raises(LoadError, match=r"dt=2026-11-20: no extracts for 2026-11-20"):
        load_day(settings, DAY)
