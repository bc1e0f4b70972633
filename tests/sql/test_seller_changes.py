"""Which sellers got worse this week, and why (issue 13): marts.seller_changes and the
scorecard's failing_metrics and week-on-week change, on a hand-computed seller.

S1 sells seller-fulfilled orders (latest ship date: purchase + 2 days).
    2026-11-15: O1..O10, purchased 11-10, shipped 11-11, on time.
        late_shipment_rate MFN 30 d = 0 / 10 -> good; perfect orders 10 / 10 -> good
    2026-11-22: + L1..L10, purchased 11-18, shipped 11-21, a day late.
        late_shipment_rate = 10 / 20 = 50 % -> poor (P(X >= 10 | Bin(20, 0.04)) ~ 1e-9)
        perfect_order_rate = 10 / 20 = 50 % -> poor
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from tests.extracts import empty_extracts, order, seller, shipment, write_day

WEEK_BEFORE, D = date(2026, 11, 15), date(2026, 11, 22)


@pytest.fixture
def built(settings):
    first = empty_extracts()
    first["sellers"] = [seller("S1")]
    first["orders"] = [order(f"O{i}", "2026-11-10") for i in range(1, 11)]
    first["shipments"] = [shipment(f"O{i}", "2026-11-11") for i in range(1, 11)]
    second = empty_extracts()
    second["orders"] = [order(f"L{i}", "2026-11-18") for i in range(1, 11)]
    second["shipments"] = [shipment(f"L{i}", "2026-11-21") for i in range(1, 11)]
    quiet = empty_extracts()
    quiet["sellers"] = [seller("S1")]  # a day with nothing new (the folder must exist)
    day = WEEK_BEFORE
    while day <= D:
        write_day(settings.landing_dir, day, {WEEK_BEFORE: first, D: second}.get(day, quiet))
        load_day(settings, day)
        day = date.fromordinal(day.toordinal() + 1)
    build(settings, WEEK_BEFORE)
    build(settings, D)
    return settings


def test_the_rows_that_got_worse_and_the_scorecard_says_why(built):
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        worse = con.execute(
            "select metric, channel, status_week_before, status, rate_week_before, rate, "
            "rate_change from marts.seller_changes where as_of_date = ? and got_worse "
            "order by metric",
            [D],
        ).fetchall()
        card = con.execute(
            "select account_status, failing_metrics, late_shipment_rate_change_7d, "
            "perfect_order_rate_change_7d from marts.seller_scorecard "
            "where seller_id = 'S1' and as_of_date = ?",
            [D],
        ).fetchall()[0]
        before = con.execute(
            "select failing_metrics from marts.seller_scorecard where as_of_date = ?",
            [WEEK_BEFORE],
        ).fetchall()
    finally:
        con.close()
    assert worse == [
        ("late_shipment_rate", "MFN", "good", "poor", 0.0, 0.5, 0.5),
        ("perfect_order_rate", "all", "good", "poor", 1.0, 0.5, -0.5),
    ]
    assert card == (
        "critical",
        ["late_shipment_rate/MFN", "perfect_order_rate/all"],
        0.5,
        -0.5,
    )
    assert before == [([],)]
