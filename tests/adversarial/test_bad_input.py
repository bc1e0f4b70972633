"""Bad input, table-driven: every rule of SPEC §2 on every dataset, in CSV, CSV.GZ and Parquet.

A warehouse holds two loaded days. Each case rewrites day 2's folder with one dataset's
file broken in one way, loads day 2 again and checks the outcome SPEC §2 names:

* `Reject`: the day loads, the bad record is in `ops.rejected_rows` with its line and
  reason, and every raw table holds exactly the rows of the good records;
* `Fail`: the day fails with one line naming the file and the problem, and nothing
  changed (day 2's earlier load stays as it was);
* `Load`: an unusual but valid record loads, with its value kept as sent.

In every case day 1 is untouched, row for row.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import LoadError
from pipeline.ingest.load import load_day
from pipeline.schema import DATASETS, MAX_FIELD_BYTES, TIMESTAMP
from tests.adversarial.conftest import query, settings_in

DAY1, DAY2 = date(2026, 11, 19), date(2026, 11, 20)
ROWS = 45  # per dataset and day: two rejected copies of a duplicate stay under 5 %
FORMATS = ("csv", "csv.gz", "parquet")

Row = dict[str, str]


def base_rows(day: date) -> dict[str, list[Row]]:
    """ROWS valid records per dataset for `day`; day 2's refer to day 1's sellers."""
    tag = "A" if day == DAY1 else "B"
    d = day.isoformat()

    def at(hour: int, minute: int = 0) -> str:
        return f"{d}T{hour:02d}:{minute:02d}:00Z"

    rows: dict[str, list[Row]] = {name: [] for name in DATASETS}
    for i in range(ROWS):
        seller = f"A{i:02d}"  # loaded on day 1, so known on day 2 too
        order = f"O{tag}{i:02d}"
        rows["sellers"].append(
            {
                "seller_id": f"{tag}{i:02d}",
                "seller_name": f"Shop {tag}{i:02d}, Ltd.",
                "email": f"shop{tag.lower()}{i}@example.com",
                "marketplace": "US",
                "registered_date": "2026-01-01",
                "last_updated_at": at(1),
            }
        )
        rows["orders"].append(
            {
                "order_id": order,
                "seller_id": seller,
                "purchased_at": at(2),
                "last_updated_at": at(2, 5),
                "order_status": "unshipped",
                "fulfillment_channel": "MFN",
                "product_line": "Toys",
                "sku": f"SKU-{i}",
                "quantity": "1",
                "item_price": "9.99",
                "currency": "USD",
                "latest_ship_date": "2026-11-22",
                "latest_delivery_date": "2026-11-27",
            }
        )
        rows["shipments"].append(
            {
                "order_id": order,
                "ship_confirmed_at": at(3),
                "carrier": "UPS",
                "tracking_id": f"1Z{i:04d}",
                "first_scan_at": at(4),
                "delivered_at": "",
                "last_updated_at": at(4, 5),
            }
        )
        rows["cancellations"].append(
            {
                "order_id": order,
                "cancelled_at": at(5),
                "initiated_by": "buyer",
                "reason": "changed my mind",
                "last_updated_at": at(5, 5),
            }
        )
        rows["refunds"].append(
            {
                "refund_id": f"R{tag}{i:02d}",
                "order_id": order,
                "refunded_at": at(6),
                "amount": "5.00",
                "reason": "",
                "last_updated_at": at(6, 5),
            }
        )
        rows["feedback"].append(
            {
                "order_id": order,
                "left_at": at(7),
                "rating": "5",
                "comment": "great",
                "removed": "false",
                "last_updated_at": at(7, 5),
            }
        )
        rows["claims"].append(
            {
                "claim_id": f"C{tag}{i:02d}",
                "order_id": order,
                "filed_at": at(8),
                "status": "open",
                "last_updated_at": at(8, 5),
            }
        )
        rows["chargebacks"].append(
            {
                "chargeback_id": f"CB{tag}{i:02d}",
                "order_id": order,
                "filed_at": at(9),
                "kind": "service",
                "status": "open",
                "last_updated_at": at(9, 5),
            }
        )
        rows["messages"].append(
            {
                "message_id": f"M{tag}{i:02d}",
                "thread_id": f"T{tag}{i:02d}",
                "seller_id": seller,
                "order_id": order,
                "received_at": at(10),
                "first_response_at": at(11),
                "no_response_needed": "false",
                "last_updated_at": at(11, 5),
            }
        )
        rows["notices"].append(
            {
                "notice_id": f"N{tag}{i:02d}",
                "seller_id": seller,
                "issued_at": at(12),
                "category": "other",
                "severity": "low",
                "subject": "Listing updated",
                "read_at": "",
                "resolved_at": "",
                "last_updated_at": at(12, 5),
            }
        )
    return rows


# ---------------------------------------------------------------------------------------
# Writing a dataset in each format


def csv_bytes(columns: list[str], rows: list[Row]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return buf.getvalue().encode("utf-8")


def write_dataset(
    folder: Path, dataset: str, rows: list[Row], fmt: str, columns: list[str] | None = None
) -> Path:
    columns = columns or list(DATASETS[dataset].column_names)
    path = folder / f"{dataset}.{fmt}"
    if fmt == "csv":
        path.write_bytes(csv_bytes(columns, rows))
    elif fmt == "csv.gz":
        path.write_bytes(gzip.compress(csv_bytes(columns, rows), mtime=0))
    else:  # parquet, every column a string; an empty field is a null
        table = pa.table(
            {c: pa.array([r.get(c) or None for r in rows], pa.string()) for c in columns}
        )
        pq.write_table(table, path)
    return path


# ---------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Reject:
    reason: str  # the start of the reason
    lines: tuple[int, ...] = (ROWS + 1,)
    # Good records of the file that are rejected along with it (a duplicate's original).
    also_rejected: int = 0


@dataclass(frozen=True)
class Fail:
    message: str  # what the one-line error says after the file name


@dataclass(frozen=True)
class Load:
    column: str
    stored: Any  # the value the warehouse keeps


Outcome = Reject | Fail | Load


@dataclass(frozen=True)
class Case:
    id: str
    dataset: str
    fmt: str
    outcome: Outcome
    # Changes to one extra record (a copy of the first with a fresh key) ...
    extra: Row = field(default_factory=dict)
    # ... or a function that writes the dataset's file itself.
    write: Callable[[Path, list[Row]], None] | None = None


def fresh_key(dataset: str, row: Row) -> Row:
    key = DATASETS[dataset].key[0]
    return {**row, key: row[key] + "-X"}


EVENT = {
    name: next((c for c in ds.event_columns if ds.column(c).kind == TIMESTAMP), "last_updated_at")
    for name, ds in DATASETS.items()
}
ENUMS = {
    "orders": ("order_status", "lost"),
    "cancellations": ("initiated_by", "courier"),
    "claims": ("status", "escalated"),
    "chargebacks": ("kind", "friendly_fraud"),
    "notices": ("severity", "urgent"),
    "messages": ("buyer_verdict", "maybe"),
}
RANGES = {
    "orders": ("quantity", "-1", ">= 0"),
    "refunds": ("amount", "-0.01", ">= 0"),
    "feedback": ("rating", "6", "1..5"),
}


def row_cases() -> list[tuple[str, str, Row, Outcome]]:
    """(id, dataset, changes, outcome) for the record-level rules of SPEC §2."""
    cases: list[tuple[str, str, Row, Outcome]] = []
    d = DAY2.isoformat()
    for name, ds in DATASETS.items():
        key = ds.key[0]
        event = EVENT[name]
        cases += [
            (
                f"{name}-empty-key",
                name,
                {key: ""},
                Reject(f"column {key}: empty, but a value is required"),
            ),
            (
                f"{name}-epoch",
                name,
                {"last_updated_at": "epoch"},
                Reject("column last_updated_at: 'epoch' is not an ISO 8601 timestamp"),
            ),
            (
                f"{name}-naive-timestamp",
                name,
                {event: f"{d}T00:30:00"},
                Reject(f"column {event}: '{d}T00:30:00' is not an ISO 8601 timestamp"),
            ),
            (
                f"{name}-from-the-future",
                name,
                {"last_updated_at": "2026-11-21T00:00:00Z"},
                Reject("column last_updated_at: 2026-11-21T00:00:00Z is in the future"),
            ),
            (
                f"{name}-offset-in-the-future",
                name,
                # 23:30 in New York is 04:30 UTC the next day
                {"last_updated_at": f"{d}T23:30:00-05:00"},
                Reject("column last_updated_at: 2026-11-21T04:30:00Z is in the future"),
            ),
        ]
        if event != "last_updated_at":
            cases += [
                (
                    f"{name}-infinity",
                    name,
                    {event: "-infinity"},
                    Reject(f"column {event}: '-infinity' is not an ISO 8601 timestamp"),
                ),
                (
                    f"{name}-event-after-update",
                    name,
                    {event: f"{d}T23:00:00Z"},
                    Reject(f"column {event}: {d}T23:00:00Z is after the row's last_updated_at"),
                ),
                (
                    f"{name}-nanoseconds",
                    name,
                    {event: f"{d}T00:00:00.000000001Z"},
                    Reject(f"column {event}: '{d}T00:00:00.000000001Z' is finer than"),
                ),
            ]
        if name in ENUMS:
            column, value = ENUMS[name]
            cases.append(
                (
                    f"{name}-enum",
                    name,
                    {column: value},
                    Reject(f"column {column}: '{value}' is not one of"),
                )
            )
        if name in RANGES:
            column, value, bounds = RANGES[name]
            cases.append(
                (
                    f"{name}-range",
                    name,
                    {column: value},
                    Reject(f"column {column}: '{value}' is outside {bounds}"),
                )
            )
        if ds.has_seller_id and name != "sellers":
            cases.append(
                (
                    f"{name}-unknown-seller",
                    name,
                    {"seller_id": "A99"},
                    Reject("column seller_id: unknown seller 'A99'"),
                )
            )
    cases += [
        (
            "sellers-id-with-a-slash",
            "sellers",
            {"seller_id": "../../etc/x"},
            Reject("column seller_id: '../../etc/x' is not a seller id"),
        ),
        (
            "sellers-id-too-long",
            "sellers",
            {"seller_id": "S" * 65},
            Reject("column seller_id: 'SSSS"),
        ),
        (
            "sellers-id-starting-with-a-dot",
            "sellers",
            {"seller_id": ".hidden"},
            Reject("column seller_id: '.hidden' is not a seller id"),
        ),
        (
            "sellers-email-double-at",
            "sellers",
            {"email": "bob@@bad..example"},
            Reject("column email: 'bob@@bad..example' is not an email address"),
        ),
        (
            "sellers-email-one-label-domain",
            "sellers",
            {"email": "ops@localhost"},
            Reject("column email: 'ops@localhost' is not an email address"),
        ),
        (
            "sellers-email-second-address-bad",
            "sellers",
            {"email": "a@example.com; b c@example.com"},
            Reject("column email: 'b c@example.com' is not an email address"),
        ),
        (
            "sellers-email-header-injection",
            "sellers",
            {"email": "a@example.com\r\nBcc: all@example.com"},
            Reject("column email: 'a@example.com\\r\\nBcc: all@example.com' is not"),
        ),
        (
            "sellers-email-trailing-separator",
            "sellers",
            {"email": "a@example.com;"},
            Reject("column email: '' is not an email address"),
        ),
        (
            "sellers-impossible-date",
            "sellers",
            {"registered_date": "2026-02-30"},
            Reject("column registered_date: '2026-02-30' is not a date (YYYY-MM-DD)"),
        ),
        (
            "sellers-date-without-dashes",
            "sellers",
            {"registered_date": "20260101"},
            Reject("column registered_date: '20260101' is not a date (YYYY-MM-DD)"),
        ),
        (
            "orders-price-with-eleven-decimals",
            "orders",
            {"item_price": "1.00000000001"},
            Reject("column item_price: '1.00000000001' has more than 10 decimals"),
        ),
        (
            "orders-price-in-exponent-form",
            "orders",
            {"item_price": "1e3"},
            Reject("column item_price: '1e3' is not a decimal number"),
        ),
        (
            "orders-quantity-not-whole",
            "orders",
            {"quantity": "1.5"},
            Reject("column quantity: '1.5' is not an integer"),
        ),
        (
            "orders-mfn-without-promise-date",
            "orders",
            {"latest_ship_date": ""},
            Reject("column latest_ship_date: empty, but a value is required unless"),
        ),
        (
            "refunds-amount-too-large",
            "refunds",
            {"amount": "1" * 29},
            Reject(f"column amount: '{'1' * 29}' has more than 10 decimals or 28 digits"),
        ),
        (
            "feedback-rating-word",
            "feedback",
            {"rating": "five"},
            Reject("column rating: 'five' is not an integer"),
        ),
        (
            "feedback-removed-yes",
            "feedback",
            {"removed": "yes"},
            Reject("column removed: 'yes' is not a boolean (true/false)"),
        ),
        (
            "messages-no-response-needed-empty",
            "messages",
            {"no_response_needed": ""},
            Reject("column no_response_needed: empty, but a value is required"),
        ),
        (
            "notices-subject-longer-than-10-MB",
            "notices",
            {"subject": "x" * (MAX_FIELD_BYTES + 1)},
            Reject(f"column subject: {MAX_FIELD_BYTES + 1} bytes, longer than"),
        ),
        # Unusual but valid: these load, as sent.
        ("orders-quantity-zero", "orders", {"quantity": "0"}, Load("quantity", 0)),
        # The buyer's verdict, one per format (cases rotate through them in turn).
        (
            "messages-verdict-solved",
            "messages",
            {"buyer_verdict": "solved"},
            Load("buyer_verdict", "solved"),
        ),
        (
            "messages-verdict-not-solved",
            "messages",
            {"buyer_verdict": "not_solved"},
            Load("buyer_verdict", "not_solved"),
        ),
        ("messages-verdict-empty", "messages", {"buyer_verdict": ""}, Load("buyer_verdict", None)),
        (
            "orders-cancelled-line-without-price",
            "orders",
            {"order_status": "cancelled", "quantity": "0", "item_price": "", "currency": ""},
            Load("item_price", None),
        ),
        (
            "orders-price-keeps-its-decimals",
            "orders",
            {"item_price": "12.3456789"},
            Load("item_price", Decimal("12.3456789")),
        ),
        (
            "orders-offset-converted-to-utc",
            "orders",
            {"purchased_at": f"{d}T05:30:00+05:30"},
            Load("purchased_at", datetime(2026, 11, 20)),
        ),
        (
            "orders-microseconds-kept",
            "orders",
            {"purchased_at": f"{d}T00:00:00.123456Z"},
            Load("purchased_at", datetime(2026, 11, 20, 0, 0, 0, 123456)),
        ),
        (
            "sellers-two-addresses",
            "sellers",
            {"email": "o'brien+cx@mail.example.co.uk; ops-team@example.com"},
            Load("email", "o'brien+cx@mail.example.co.uk; ops-team@example.com"),
        ),
        (
            "sellers-name-kept-as-sent",
            "sellers",
            {"seller_name": '  "Ünïcødé" <b>&</b>, 東京  '},
            Load("seller_name", '  "Ünïcødé" <b>&</b>, 東京  '),
        ),
        (
            "sellers-name-with-a-nul-character",
            "sellers",
            {"seller_name": "Shop\x00Name"},
            Load("seller_name", "Shop\x00Name"),
        ),
        (
            "feedback-long-comment",
            "feedback",
            {"comment": "é" * 2_000_000},  # 4 MB of UTF-8
            Load("comment", "é" * 2_000_000),
        ),
    ]
    return cases


# A column whose change makes a second version with the same key and last_updated_at.
DUPLICATE_CHANGE = {
    "sellers": ("seller_name", "Another name"),
    "orders": ("sku", "SKU-other"),
    "shipments": ("carrier", "FedEx"),
    "cancellations": ("initiated_by", "seller"),
    "refunds": ("amount", "6.00"),
    "feedback": ("rating", "4"),
    "claims": ("status", "granted"),
    "chargebacks": ("status", "upheld"),
    "messages": ("thread_id", "T-other"),
    "notices": ("subject", "Another subject"),
}


def duplicate_cases() -> list[Case]:
    """The same key and last_updated_at twice with different values: both copies go."""
    cases = []
    for i, (name, (column, value)) in enumerate(DUPLICATE_CHANGE.items()):
        fmt = FORMATS[(i + 1) % len(FORMATS)]

        def write(folder: Path, rows: list[Row], name=name, column=column, value=value, fmt=fmt):
            write_dataset(folder, name, [*rows, {**rows[0], column: value}], fmt)

        key = DATASETS[name].key[0]
        outcome = Reject(
            f"duplicate record: {key}={base_rows(DAY2)[name][0][key]}, last_updated_at=",
            lines=(1, ROWS + 1),
            also_rejected=1,
        )
        cases.append(Case(f"{name}-duplicate-key-{fmt}", name, fmt, outcome, write=write))
    return cases


def file_cases() -> list[Case]:
    """Files that cannot be read as their format, or whose header breaks the contract."""

    def raw(text: bytes, suffix: str = "csv") -> Callable[[Path, list[Row]], None]:
        def write(folder: Path, rows: list[Row]) -> None:
            (folder / f"orders.{suffix}").write_bytes(text)

        return write

    def csv_without(column: str, suffix: str) -> Callable[[Path, list[Row]], None]:
        def write(folder: Path, rows: list[Row]) -> None:
            columns = [c for c in DATASETS["claims"].column_names if c != column]
            write_dataset(folder, "claims", rows, suffix, columns)

        return write

    good = csv_bytes(list(DATASETS["orders"].column_names), base_rows(DAY2)["orders"])
    gz = gzip.compress(good, mtime=0)
    damaged = bytearray(gzip.compress(bytes(range(256)) * 40 + good, mtime=0))
    for i in range(20, 60):
        damaged[i] ^= 0x5A
    header = b",".join(c.encode() for c in DATASETS["orders"].column_names)

    def parquet_truncated(folder: Path, rows: list[Row]) -> None:
        path = write_dataset(folder, "orders", rows, "parquet")
        path.write_bytes(path.read_bytes()[:-20])

    def both_formats(folder: Path, rows: list[Row]) -> None:
        write_dataset(folder, "orders", rows, "csv")
        write_dataset(folder, "orders", rows, "parquet")

    def header_twice(folder: Path, rows: list[Row]) -> None:
        columns = [*DATASETS["orders"].column_names, "sku"]
        write_dataset(folder, "orders", rows, "csv", columns)

    return [
        Case(
            "file-empty", "orders", "csv", Fail("the file is empty (no header row)"), write=raw(b"")
        ),
        Case(
            "file-missing-column-csv",
            "claims",
            "csv",
            Fail("missing required column 'status'"),
            write=csv_without("status", "csv"),
        ),
        Case(
            "file-missing-column-gz",
            "claims",
            "csv.gz",
            Fail("missing required column 'status'"),
            write=csv_without("status", "csv.gz"),
        ),
        Case(
            "file-missing-column-parquet",
            "claims",
            "parquet",
            Fail("missing required column 'status'"),
            write=csv_without("status", "parquet"),
        ),
        Case(
            "file-column-twice",
            "orders",
            "csv",
            Fail("column 'sku' appears twice in the header"),
            write=header_twice,
        ),
        Case(
            "file-broken-quote",
            "orders",
            "csv",
            Fail("record 2 (file line 3): cannot parse CSV"),
            write=raw(header + b"\n" + good.splitlines()[1] + b'\n"O1,A00\n'),
        ),
        Case(
            "file-not-utf8",
            "orders",
            "csv",
            Fail("file line 2: not valid UTF-8"),
            write=raw(header + b"\nO1,A00,\xff\xfe\n"),
        ),
        Case(
            "file-latin1-csv",
            "orders",
            "csv",
            Fail("file line 2: not valid UTF-8"),
            write=raw(good.replace(b"Toys", "Jouets \xe9t\xe9".encode("latin-1"))),
        ),
        Case(
            "file-gz-corrupt",
            "orders",
            "csv.gz",
            Fail("not a readable gzip file"),
            write=raw(bytes(damaged), "csv.gz"),
        ),
        Case(
            "file-gz-truncated",
            "orders",
            "csv.gz",
            Fail("not a readable gzip file"),
            write=raw(gz[: len(gz) // 2], "csv.gz"),
        ),
        Case(
            "file-gz-not-gzip",
            "orders",
            "csv.gz",
            Fail("not a readable gzip file"),
            write=raw(good, "csv.gz"),
        ),
        Case(
            "file-parquet-not-parquet",
            "orders",
            "parquet",
            Fail("not a readable parquet file"),
            write=raw(good, "parquet"),
        ),
        Case(
            "file-parquet-truncated",
            "orders",
            "parquet",
            Fail("not a readable parquet file"),
            write=parquet_truncated,
        ),
        Case(
            "file-two-formats",
            "orders",
            "csv",
            Fail("both orders.csv and orders.parquet; keep one file"),
            write=both_formats,
        ),
    ]


def all_cases() -> list[Case]:
    cases = []
    for i, (case_id, dataset, extra, outcome) in enumerate(row_cases()):
        fmt = FORMATS[i % len(FORMATS)]
        cases.append(Case(f"{case_id}-{fmt}", dataset, fmt, outcome, extra=extra))
    return cases + duplicate_cases() + file_cases()


CASES = all_cases()


def test_the_table_covers_every_dataset_in_every_format():
    assert len(CASES) >= 60
    for dataset in DATASETS:
        formats = {c.fmt for c in CASES if c.dataset == dataset}
        assert formats == set(FORMATS), (dataset, formats)
    kinds = {type(c.outcome) for c in CASES}
    assert kinds == {Reject, Fail, Load}


# ---------------------------------------------------------------------------------------
# Running a case


def write_day(folder: Path, day: date, override: Case | None = None) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for dataset, rows in base_rows(day).items():
        if override is None or override.dataset != dataset:
            write_dataset(folder, dataset, rows, "csv")
            continue
        if override.write is not None:
            override.write(folder, rows)
        else:
            extra = {**fresh_key(dataset, rows[0]), **override.extra}
            write_dataset(folder, dataset, [*rows, extra], override.fmt)


@dataclass(frozen=True)
class State:
    """Row counts of day 2 per raw table (and its rejected rows), and day 1 as a checksum."""

    day2: dict[str, int]
    day1: str


def state(warehouse: Path) -> State:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        day2 = {}
        digest = hashlib.sha256()
        for name in (*DATASETS, "rejected"):
            table, column = (
                ("ops.rejected_rows", "load_date")
                if name == "rejected"
                else (f"raw.{name}", "_load_date")
            )
            where = f"from {table} where {column} = ?"
            day2[name] = con.execute(f"select count(*) {where}", [DAY2]).fetchall()[0][0]
            rows = con.execute(f"select * {where} order by all", [DAY1]).fetchall()
            digest.update(repr(rows).encode())
        return State(day2, digest.hexdigest())
    finally:
        con.close()


@dataclass(frozen=True)
class Template:
    root: Path
    state: State


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """Both days loaded from good files: what every case starts from."""
    root = tmp_path_factory.mktemp("bad-input")
    settings = settings_in(root)
    for day in (DAY1, DAY2):
        write_day(settings.landing_dir / f"dt={day}", day)
        load_day(settings, day)
    return Template(root, state(settings.warehouse))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, template: Template, tmp_path: Path) -> None:
    root = tmp_path / "w"
    shutil.copytree(template.root, root)
    settings = settings_in(root)
    write_day(settings.landing_dir / f"dt={DAY2}", DAY2, case)
    expected = dict(template.state.day2)
    outcome = case.outcome

    if isinstance(outcome, Fail):
        with pytest.raises(LoadError) as err:
            load_day(settings, DAY2)
        message = str(err.value)
        assert "\n" not in message
        assert message.startswith(f"dt={DAY2}/{case.dataset}")
        assert outcome.message in message
    else:
        load_day(settings, DAY2)
        if isinstance(outcome, Reject):
            rejected = query(
                settings.warehouse,
                "select dataset, line, reason, raw from ops.rejected_rows where load_date = ? "
                "order by line",
                [DAY2],
            )
            assert [(r[0], r[1]) for r in rejected] == [(case.dataset, n) for n in outcome.lines]
            for _, _, reason, raw_text in rejected:
                assert reason.startswith(outcome.reason), reason
                assert raw_text
            expected["rejected"] = len(outcome.lines)
            expected[case.dataset] -= outcome.also_rejected
        else:
            expected[case.dataset] += 1
            key = DATASETS[case.dataset].key[0]
            extra = fresh_key(case.dataset, base_rows(DAY2)[case.dataset][0])[key]
            ((stored,),) = query(
                settings.warehouse,
                f"select {outcome.column} from raw.{case.dataset} where {key} = ?",
                [extra],
            )
            assert stored == outcome.stored
    after = state(settings.warehouse)
    assert after.day2 == expected
    assert after.day1 == template.state.day1  # day 1 untouched, row for row
