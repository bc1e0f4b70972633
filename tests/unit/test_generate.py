"""The synthetic landing zone: format, determinism, CDC invariants, malformed rows, realism."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from pipeline.errors import CxnError
from pipeline.schema import BOOL, DATASETS, DATE, DECIMAL, INT, TIMESTAMP
from pipeline.synthetic import GenerateResult, generate

END = date(2026, 11, 22)
SMALL = {"sellers": 12, "days": 40, "end_date": END, "seed": 11}
TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
DEC = re.compile(r"-?\d+\.\d{2}")


@dataclass(frozen=True)
class Row:
    dataset: str
    dt: date
    line: int  # 1-based record position after the header
    values: dict[str, str]


def read_zone(out: Path) -> dict[str, list[Row]]:
    rows: dict[str, list[Row]] = defaultdict(list)
    for folder in sorted(out.glob("dt=*")):
        dt = date.fromisoformat(folder.name[3:])
        for path in sorted(folder.glob("*.csv")):
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.reader(fh)
                header = next(reader)
                for i, record in enumerate(reader, start=1):
                    rows[path.stem].append(
                        Row(path.stem, dt, i, dict(zip(header, record, strict=True)))
                    )
    return rows


def ts(text: str) -> datetime:
    assert TS.fullmatch(text), text
    return datetime.fromisoformat(text[:-1])


def rejected(result: GenerateResult) -> set[tuple[str, date, int]]:
    return {(b.dataset, b.dt, b.line) for b in result.rejects}


def problems(row: Row, known_sellers: set[str]) -> list[str]:
    """What a loader following SPEC §2 would reject this row for (duplicates aside)."""
    found = []
    ds = DATASETS[row.dataset]
    parsed: dict[str, object] = {}
    for col in ds.columns:
        value = row.values[col.name]
        if value == "":
            if col.null_when:
                other, when = col.null_when
                if row.values[other] not in when:
                    found.append(f"{col.name} empty")
            elif not col.allows_null:
                found.append(f"{col.name} empty")
            continue
        try:
            if col.kind == TIMESTAMP:
                parsed[col.name] = ts(value)
            elif col.kind == DATE:
                parsed[col.name] = date.fromisoformat(value)
            elif col.kind == INT:
                parsed[col.name] = int(value)
            elif col.kind == DECIMAL:
                assert DEC.fullmatch(value), value
                parsed[col.name] = Decimal(value)
            elif col.kind == BOOL:
                assert value in ("true", "false"), value
        except (AssertionError, ValueError, InvalidOperation):
            found.append(f"{col.name} unparseable: {value!r}")
            continue
        if col.enum and value not in col.enum:
            found.append(f"{col.name} not in enum: {value!r}")
        number = parsed.get(col.name)
        if isinstance(number, int | Decimal):
            if col.min_value is not None and number < col.min_value:
                found.append(f"{col.name} below range")
            if col.max_value is not None and number > col.max_value:
                found.append(f"{col.name} above range")
    lu = parsed.get("last_updated_at")
    if isinstance(lu, datetime):
        if lu.date() > row.dt:
            found.append("last_updated_at after its folder day")
        for event in ds.event_columns:
            at = parsed.get(event)
            if isinstance(at, datetime) and at > lu:
                found.append(f"{event} after last_updated_at")
    if ds.has_seller_id and row.values["seller_id"] not in known_sellers:
        found.append("unknown seller")
    return found


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerateResult, dict[str, list[Row]]]:
    out = tmp_path_factory.mktemp("small")
    result = generate(out, **SMALL)
    return result, read_zone(out)


@pytest.fixture(scope="module")
def default(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[GenerateResult, dict[str, list[Row]]]:
    out = tmp_path_factory.mktemp("default")
    result = generate(out, end_date=END)
    return result, read_zone(out)


def test_same_arguments_give_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    def files(out: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
        }

    first = files(generate(tmp_path / "a", **SMALL).out)
    second = files(generate(tmp_path / "b", **SMALL).out)
    other = files(generate(tmp_path / "c", **{**SMALL, "seed": 12}).out)
    assert first == second
    assert first.keys() and first != other
    assert first["dt=2026-11-22/orders.csv"] != other["dt=2026-11-22/orders.csv"]


def test_one_folder_per_day_each_with_success_marker_and_no_temporary_files(small) -> None:
    result, _ = small
    folders = sorted(p.name for p in result.out.iterdir())
    first = END - timedelta(days=SMALL["days"] - 1)
    days = [f"dt={first + timedelta(days=d)}" for d in range(SMALL["days"])]
    assert folders == [".cxn-generated.json", *days]
    assert result.first_date == first and result.end_date == END
    for folder in result.out.glob("dt=*"):
        assert (folder / "_SUCCESS").read_bytes() == b""
        names = {p.name for p in folder.iterdir()}
        assert names <= {"_SUCCESS"} | {f"{d}.csv" for d in DATASETS}, names
        # A file is written only when it has rows.
        for path in folder.glob("*.csv"):
            assert len(path.read_bytes().splitlines()) >= 2


def test_headers_are_the_schema_columns_in_order(small) -> None:
    result, _ = small
    for path in result.out.glob("dt=*/*.csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert tuple(header) == DATASETS[path.stem].column_names, path


def test_every_dataset_appears_and_row_counts_match_the_result(small) -> None:
    result, rows = small
    assert set(rows) == set(DATASETS)
    assert {name: len(r) for name, r in rows.items()} == result.rows
    assert result.sellers == SMALL["sellers"]
    # Every simulated order is written; malformed rows are extra records.
    inserted = {
        (b.dataset, b.dt, b.line) for b in result.rejects if not b.kind.endswith("_original")
    }
    assert len(inserted) == result.malformed
    orders = {
        r.values["order_id"] for r in rows["orders"] if ("orders", r.dt, r.line) not in inserted
    }
    assert len(orders) == result.orders


def test_exactly_the_reported_rows_break_the_rules(small) -> None:
    """Every row a loader must reject is in result.rejects, and no other row breaks a rule."""
    result, rows = small
    known: set[str] = set()
    found: set[tuple[str, date, int]] = set()
    by_day: dict[date, list[Row]] = defaultdict(list)
    for dataset_rows in rows.values():
        for row in dataset_rows:
            by_day[row.dt].append(row)
    for dt in sorted(by_day):
        known |= {r.values["seller_id"] for r in by_day[dt] if r.dataset == "sellers"}
        for row in by_day[dt]:
            if problems(row, known):
                found.add((row.dataset, row.dt, row.line))
        # The same key and last_updated_at twice in a file with different values: all copies.
        groups: dict[tuple[str, tuple[str, ...], str], list[Row]] = defaultdict(list)
        for row in by_day[dt]:
            key = tuple(row.values[k] for k in DATASETS[row.dataset].key)
            groups[(row.dataset, key, row.values["last_updated_at"])].append(row)
        for copies in groups.values():
            if len({tuple(r.values.items()) for r in copies}) > 1:
                found |= {(r.dataset, r.dt, r.line) for r in copies}
    assert result.malformed >= 5
    assert found == rejected(result)
    kinds = Counter(b.kind for b in result.rejects)
    assert kinds["duplicate_key"] == kinds["duplicate_key_original"] >= 1


def test_malformed_rows_only_in_big_files_and_at_most_one_percent(small) -> None:
    result, rows = small
    sizes = Counter((r.dataset, r.dt) for dataset_rows in rows.values() for r in dataset_rows)
    per_file = Counter((b.dataset, b.dt) for b in result.rejects)
    assert per_file
    for file, bad in per_file.items():
        assert sizes[file] >= 200, file
        assert bad <= 0.01 * sizes[file], file


def test_timestamps_parse_and_events_are_not_after_last_updated_at(small) -> None:
    result, rows = small
    bad = rejected(result)
    checked = 0
    for dataset, dataset_rows in rows.items():
        ds = DATASETS[dataset]
        for row in dataset_rows:
            if (dataset, row.dt, row.line) in bad:
                continue
            lu = ts(row.values["last_updated_at"])
            for col in ds.columns:
                if col.kind == TIMESTAMP and row.values[col.name]:
                    ts(row.values[col.name])
            for event in ds.event_columns:
                if row.values[event]:
                    assert ts(row.values[event]) <= lu, (dataset, row)
                    checked += 1
    assert checked > 10_000


def test_versions_sit_in_their_folder_except_a_few_late_ones(small) -> None:
    result, rows = small
    bad = rejected(result)
    late = on_time = 0
    for dataset, dataset_rows in rows.items():
        for row in dataset_rows:
            if (dataset, row.dt, row.line) in bad:
                continue
            lu_day = ts(row.values["last_updated_at"]).date()
            assert lu_day <= END
            assert row.dt <= END
            if row.dt == lu_day:
                on_time += 1
            else:
                # Late: one to three days after its last_updated_at date, never a seller.
                assert 1 <= (row.dt - lu_day).days <= 3, row
                assert dataset != "sellers"
                late += 1
    assert late == result.late
    assert 0 < late < 0.02 * (late + on_time)


def test_rows_in_a_file_are_sorted_by_last_updated_at_then_key(small) -> None:
    result, rows = small
    bad = rejected(result)
    files: dict[tuple[str, date], list[Row]] = defaultdict(list)
    for dataset, dataset_rows in rows.items():
        for row in dataset_rows:
            if (dataset, row.dt, row.line) not in bad:
                files[(dataset, row.dt)].append(row)
    for (dataset, _), file_rows in files.items():
        keys = [
            (r.values["last_updated_at"], *(r.values[k] for k in DATASETS[dataset].key))
            for r in file_rows
        ]
        assert keys == sorted(keys)
        assert len(set(keys)) == len(keys)


def test_every_seller_row_comes_no_later_than_the_sellers_first_activity(small) -> None:
    result, rows = small
    bad = rejected(result)
    first_seen = {}
    for row in sorted(rows["sellers"], key=lambda r: r.dt):
        first_seen.setdefault(row.values["seller_id"], row.dt)
    assert len(first_seen) == SMALL["sellers"]
    # Some sellers register during the period and appear on that day, not on the first.
    assert any(dt > result.first_date for dt in first_seen.values())
    for dataset in ("orders", "messages", "notices"):
        for row in rows[dataset]:
            if (dataset, row.dt, row.line) in bad:
                continue
            assert first_seen[row.values["seller_id"]] <= row.dt, row


def test_promise_dates_for_mfn_orders_only(small) -> None:
    result, rows = small
    bad = rejected(result)
    channels = Counter()
    for row in rows["orders"]:
        if ("orders", row.dt, row.line) in bad:
            continue
        v = row.values
        channels[v["fulfillment_channel"]] += 1
        if v["fulfillment_channel"] == "MFN":
            purchase = ts(v["purchased_at"]).date()
            ship_by = date.fromisoformat(v["latest_ship_date"])
            deliver_by = date.fromisoformat(v["latest_delivery_date"])
            assert 1 <= (ship_by - purchase).days <= 4
            assert 2 <= (deliver_by - ship_by).days <= 7
        else:
            assert v["latest_ship_date"] == v["latest_delivery_date"] == ""
    assert channels["MFN"] > 0 and channels["AFN"] > 0


def test_order_versions_follow_the_lifecycle(small) -> None:
    result, rows = small
    bad = rejected(result)
    order = {"pending": 0, "unshipped": 1, "shipped": 2, "delivered": 3, "cancelled": 3}
    history: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows["orders"]:
        if ("orders", row.dt, row.line) not in bad:
            history[row.values["order_id"]].append(
                (row.values["last_updated_at"], row.values["order_status"])
            )
    statuses = Counter()
    for versions in history.values():
        steps = [order[s] for _, s in sorted(versions)]
        assert steps == sorted(steps) and len(set(steps)) == len(steps), versions
        statuses.update(s for _, s in versions)
    assert set(statuses) == set(order)
    shipped = {r.values["order_id"] for r in rows["shipments"]}
    cancelled = {r.values["order_id"] for r in rows["cancellations"]}
    assert shipped and cancelled and not shipped & cancelled


def test_csv_quoting_round_trips_commas_quotes_and_non_ascii(small, default) -> None:
    texts = [
        r.values[column]
        for _, rows in (small, default)
        for dataset, column in (("feedback", "comment"), ("sellers", "seller_name"))
        for r in rows[dataset]
    ]
    assert any("," in t for t in texts)
    assert any('"' in t for t in texts)
    assert any(not t.isascii() for t in texts)


def test_forced_rerun_removes_stale_folders_of_a_wider_earlier_run(tmp_path: Path) -> None:
    generate(tmp_path, sellers=3, days=10, end_date=END + timedelta(days=5), seed=1)
    (tmp_path / "keep.txt").write_text("not ours")
    result = generate(tmp_path, sellers=3, days=4, end_date=END, seed=1, force=True)
    folders = sorted(p.name for p in tmp_path.glob("dt=*"))
    assert folders == [f"dt={END - timedelta(days=d)}" for d in (3, 2, 1, 0)]
    assert (tmp_path / "keep.txt").exists()
    assert result.files == len(list(tmp_path.glob("dt=*/*.csv")))


def test_progress_is_reported_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    messages: list[str] = []
    generate(tmp_path, sellers=2, days=3, end_date=END, progress=messages.append)
    assert any("orders" in m for m in messages)
    with pytest.raises(CxnError):
        generate(tmp_path, sellers=0, days=3, end_date=END)
    with pytest.raises(CxnError):
        generate(tmp_path, sellers=2, days=0, end_date=END)


def test_default_size_is_realistic(default) -> None:
    result, rows = default
    bad = rejected(result)
    orders = {}
    for row in rows["orders"]:
        if ("orders", row.dt, row.line) not in bad:
            orders[row.values["order_id"]] = row.values
    per_day = Counter(ts(v["purchased_at"]).date() for v in orders.values())
    assert 200 <= len(orders) / 120 <= 900
    # Weekends are busier than midweek.
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    midweek = [n for d, n in per_day.items() if d.weekday() in (1, 2, 3)]
    assert sum(weekend) / len(weekend) > 1.1 * sum(midweek) / len(midweek)

    # Orders with negative feedback or an A-to-z claim, per seller.
    defective = {
        r.values["order_id"]
        for r in rows["feedback"]
        if r.values["rating"] in ("1", "2") and r.values["removed"] == "false"
    } | {r.values["order_id"] for r in rows["claims"]}
    by_seller = Counter(v["seller_id"] for v in orders.values())
    bad_by_seller = Counter(orders[o]["seller_id"] for o in defective if o in orders)
    shares = {s: bad_by_seller[s] / n for s, n in by_seller.items() if n >= 100}
    assert max(shares.values()) > 0.03
    # ... while most sellers are healthy.
    assert sorted(shares.values())[len(shares) // 2] < 0.012

    assert len(rows["notices"]) > 0
    severities = Counter(r.values["severity"] for r in rows["notices"])
    assert "critical" in severities
    statuses = Counter(r.values["status"] for r in rows["claims"])
    assert statuses["open"] > 0 and len(statuses) >= 4
    unanswered = sum(1 for r in rows["messages"] if not r.values["first_response_at"])
    assert 0 < unanswered < len(rows["messages"])
