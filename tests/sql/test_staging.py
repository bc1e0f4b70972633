"""Staging picks, per record, the version known at the end of the as-of date (SPEC 3.1)."""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from tests.extracts import order, seller, shipment, write_extract


def _shipment(settings, as_of):
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute(f"set variable as_of_date = date '{as_of}'")
        return con.execute(
            "select tracking_id, first_scan_at is not null, carrier from staging.stg_shipments"
        ).fetchall()
    finally:
        con.close()


def test_latest_version_wins_even_when_it_clears_a_value(settings):
    day1, day2, day3 = date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)
    write_extract(settings.landing_dir, day1, "sellers", [seller("S1")])
    write_extract(settings.landing_dir, day1, "orders", [order("O1", "2026-11-17")])
    write_extract(settings.landing_dir, day1, "shipments", [shipment("O1", "2026-11-18T08:00:00Z")])
    # Day 2: the carrier corrects the shipment: the tracking id and scan were wrong.
    write_extract(
        settings.landing_dir,
        day2,
        "shipments",
        [
            shipment(
                "O1",
                "2026-11-18T08:00:00Z",
                tracking_id=None,
                first_scan_at=None,
                carrier="DHL",
                last_updated_at="2026-11-19T09:00:00Z",
            )
        ],
    )
    # Day 3: an older version arrives late (its last_updated_at is before day 2's).
    write_extract(
        settings.landing_dir,
        day3,
        "shipments",
        [
            shipment(
                "O1",
                "2026-11-18T08:00:00Z",
                carrier="FedEx",
                last_updated_at="2026-11-18T20:00:00Z",
            )
        ],
    )
    for day in (day1, day2, day3):
        load_day(settings, day)
    build(settings, day3)
    assert _shipment(settings, day1) == [("TRK-O1", True, "UPS")]
    assert _shipment(settings, day2) == [(None, False, "DHL")]
    # The late version is older than day 2's: the day-2 version stays in effect.
    assert _shipment(settings, day3) == [(None, False, "DHL")]


# --- the loader's version bookkeeping equals ranking the whole history ----------------------

import tempfile  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipeline.settings import SQL_DIR, Settings  # noqa: E402

FIRST = date(2026, 11, 1)
version = st.tuples(
    st.sampled_from(["A", "B", "C"]),  # seller_id
    st.integers(0, 1),  # days late: last_updated_at on an earlier day than the folder
    st.integers(0, 1),  # hour: two values, so ties on last_updated_at are common
    st.sampled_from(["x", "y", "z"]),  # seller_name
)
days = st.lists(st.lists(version, max_size=5), min_size=2, max_size=5)

REFERENCE = """
    select seller_id, seller_name, last_updated_at from raw.sellers
    where _load_date <= getvariable('as_of_date')
    qualify row_number() over (
        partition by seller_id order by last_updated_at desc, _load_date desc, _line desc
    ) = 1
"""


def _write_day(landing: Path, i: int, versions) -> None:
    day = FIRST + timedelta(days=i)
    rows = []
    for sid, late, hour, name in versions:
        at = max(FIRST, day - timedelta(days=late))
        rows.append(seller(sid, seller_name=name, last_updated_at=f"{at}T{hour:02d}:00:00Z"))
    write_extract(landing, day, "sellers", rows)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days, st.data())
def test_staging_filter_equals_ranking_all_versions(history, data):
    staging = (SQL_DIR / "staging" / "stg_sellers.sql").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = Settings(
            landing_dir=root / "l",
            warehouse=root / "w.duckdb",
            out_dir=root / "o",
            max_reject_rate=1.0,
        )
        for i, versions in enumerate(history):
            _write_day(cfg.landing_dir, i, versions)
            load_day(cfg, FIRST + timedelta(days=i))
        # Reload an earlier day with different content, as an operator's rerun would.
        redo = data.draw(st.integers(0, len(history) - 1))
        _write_day(cfg.landing_dir, redo, data.draw(st.lists(version, max_size=5)))
        load_day(cfg, FIRST + timedelta(days=redo))

        con = duckdb.connect(str(cfg.warehouse), read_only=True)
        try:
            for i in range(len(history)):
                con.execute(f"set variable as_of_date = date '{FIRST + timedelta(days=i)}'")
                got = con.execute(
                    f"select seller_id, seller_name, last_updated_at from ({staging}) order by 1"
                ).fetchall()
                want = con.execute(f"{REFERENCE} order by 1").fetchall()
                assert got == want, f"as of day {i}"
        finally:
            con.close()
