"""Staging picks, per record, the version known at the end of the as-of date (SPEC 3.1)."""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline.build import build
from pipeline.load import load_day
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
