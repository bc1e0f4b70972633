"""Targets are data: a marketplace's own row overrides the '*' default, and a broken
reference file fails the build with one line naming it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import duckdb
import pytest

from pipeline.errors import CxnError
from pipeline.ingest.load import load_day
from pipeline.models.build import build
from tests.extracts import order, reference_with, seller, write_extract

D = date(2026, 11, 20)


@pytest.fixture
def two_marketplaces(settings, tmp_path):
    # UK sellers may cancel up to 20 % (poor at 30 %).
    targets = reference_with(tmp_path, "UK,cancellation_rate,0.2,LESS_THAN,0.3,2,0.05,50,10")
    write_extract(
        settings.landing_dir, D, "sellers", [seller("US1"), seller("UK1", marketplace="UK")]
    )
    # Each seller: 10 MFN orders on 11-18, 3 cancelled by the seller (30 %).
    orders, cancellations = [], []
    for sid in ("US1", "UK1"):
        for n in range(10):
            orders.append(order(f"{sid}-{n}", "2026-11-18", seller_id=sid))
        for n in range(3):
            cancellations.append(
                {
                    "order_id": f"{sid}-{n}",
                    "cancelled_at": "2026-11-18T15:00:00Z",
                    "initiated_by": "seller",
                    "last_updated_at": "2026-11-18T15:00:00Z",
                }
            )
    write_extract(settings.landing_dir, D, "orders", orders)
    write_extract(settings.landing_dir, D, "cancellations", cancellations)
    load_day(settings, D)
    return replace(settings, reference_dir=targets.parent)


def test_marketplace_override_wins_over_the_default(two_marketplaces):
    build(two_marketplaces, D)
    con = duckdb.connect(str(two_marketplaces.warehouse), read_only=True)
    rows = dict(
        (r[0], r[1:])
        for r in con.execute(
            "select seller_id, target, status from marts.seller_metrics "
            "where metric = 'cancellation_rate'"
        ).fetchall()
    )
    con.close()
    # 3 of 10 against 2.5 %: P(X >= 3 | Bin(10, 0.025)) = 0.0016 -> credible, 30 % >= 5 %: poor.
    assert rows["US1"] == (0.025, "poor")
    # Against the UK's 20 %: P(X >= 3 | Bin(10, 0.2)) = 0.32 -> not credible: good.
    assert rows["UK1"] == (0.2, "good")


def test_a_broken_targets_file_fails_the_build(two_marketplaces):
    path = two_marketplaces.reference_dir / "metric_targets.csv"
    path.write_text(path.read_text() + "*,perfect_order_rate,0.95,ABOVE,0.9,2,0.05,50,10\n")
    with pytest.raises(CxnError, match=r"metric_targets.csv: metric perfect_order_rate"):
        build(two_marketplaces, D)


def test_a_targets_file_without_the_peer_settings_gets_their_defaults(two_marketplaces):
    # The layout before SPEC 3.6's peer settings: seven columns.
    path = two_marketplaces.reference_dir / "metric_targets.csv"
    rows = [line.split(",")[:7] for line in path.read_text().splitlines()]
    path.write_text("".join(",".join(r) + "\n" for r in rows))
    build(two_marketplaces, D)
    con = duckdb.connect(str(two_marketplaces.warehouse), read_only=True)
    peers = con.execute(
        "select distinct peer_min_denominator, peer_min_sellers from ref.metric_targets"
    ).fetchall()
    con.close()
    assert peers == [(50, 10)]


def test_a_misspelt_or_unsafe_peer_setting_fails_the_build(two_marketplaces):
    path = two_marketplaces.reference_dir / "metric_targets.csv"
    text = path.read_text()
    path.write_text(text.replace("peer_min_sellers", "peer_min_seller", 1))
    with pytest.raises(CxnError, match=r"line 1: unknown column\(s\) peer_min_seller"):
        build(two_marketplaces, D)
    # In a cohort of two, the median and its own rate give a seller the other's rate.
    path.write_text(text + "UK,late_shipment_rate,0.04,LESS_THAN,0.08,2,0.05,50,2\n")
    with pytest.raises(CxnError, match=r"metric late_shipment_rate: peer_min_denominator"):
        build(two_marketplaces, D)
