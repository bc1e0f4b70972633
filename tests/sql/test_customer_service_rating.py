"""The buyers' verdict on replies (SPEC §2 `buyer_verdict`, §3.3
`customer_service_dissatisfaction_rate`): 60 days by message received date, messages marked
not_solved over messages with a verdict, target < 25 %, poor at 50 %, with the low-volume
rule. Worked out by hand, as of D = 2026-11-29 (window 2026-10-01 .. 2026-11-29):

    S1  4 rated replies, 3 not solved (75 %), and a fifth message without a verdict, in
        neither count. P(X >= 3 | Bin(4, 0.25)) = 4 * 0.25^3 * 0.75 + 0.25^4 = 0.0508,
        not below 0.05: good, at low volume.
    S2  10 rated replies about orders, 8 not solved (80 %). P(X >= 8 | Bin(10, 0.25)) =
        0.0004: credible, and 80 % >= 50 %: poor, so the account is critical. The 8 are
        about SKU-A, received on Friday 11-20; the 2 solved ones about SKU-B.
    S3  M1's verdict (solved) arrived on 11-22; M2's (not solved) arrives only on 12-02,
        as a later version of the message. As of D: 0 of 1. As of 12-02: 1 of 2 (one bad
        event is never evidence: good, low volume). A rebuild of D after 12-02 is loaded
        still counts 0 of 1.
"""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.warehouse import open_warehouse
from tests.extracts import empty_extracts, message, order, seller, write_day
from tests.tails import binom_sf

D = date(2026, 11, 29)
LATER = date(2026, 12, 2)
METRIC = "customer_service_dissatisfaction_rate"


@pytest.fixture
def built(settings):
    sellers = [seller("S1"), seller("S2"), seller("S3")]
    first = empty_extracts()
    first["sellers"] = sellers
    first["messages"] = [
        message(
            f"A{i}",
            "2026-11-10T09:00:00Z",
            "2026-11-10T11:00:00Z",
            verdict=v,
            updated="2026-11-12T08:00:00Z",
        )
        for i, v in enumerate(["not_solved", "not_solved", "not_solved", "solved"])
    ] + [message("A4", "2026-11-10T09:00:00Z", "2026-11-10T11:00:00Z", seller_id="S1")]
    first["orders"] = [
        order(f"O{i}", "2026-11-15", seller_id="S2", sku="SKU-A" if i < 8 else "SKU-B")
        for i in range(10)
    ]
    first["messages"] += [
        message(
            f"B{i}",
            "2026-11-20T09:00:00Z",
            "2026-11-20T10:00:00Z",
            seller_id="S2",
            order_id=f"O{i}",
            verdict="not_solved" if i < 8 else "solved",
            updated="2026-11-21T09:00:00Z",
        )
        for i in range(10)
    ]
    first["messages"] += [
        message(
            "M1",
            "2026-11-20T09:00:00Z",
            "2026-11-20T10:00:00Z",
            seller_id="S3",
            verdict="solved",
            updated="2026-11-22T09:00:00Z",
        ),
        message("M2", "2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z", seller_id="S3"),
    ]
    late = empty_extracts()
    late["sellers"] = sellers
    late["messages"] = [
        message(
            "M2",
            "2026-11-20T09:00:00Z",
            "2026-11-20T10:00:00Z",
            seller_id="S3",
            verdict="not_solved",
            updated="2026-12-02T09:00:00Z",
        )
    ]
    write_day(settings.landing_dir, D, first)
    load_day(settings, D)
    build(settings, D)
    write_day(settings.landing_dir, LATER, late)
    load_day(settings, LATER)
    build(settings, LATER)
    return settings


def rows(settings, as_of: date) -> dict[str, tuple]:
    with open_warehouse(settings.warehouse, read_only=True) as con:
        return {
            r[0]: r[1:]
            for r in con.execute(
                "select seller_id, numerator, denominator, status, low_volume, target "
                "from marts.seller_metrics where metric = ? and as_of_date = ? "
                "and window_days = 60",
                [METRIC, as_of],
            ).fetchall()
        }


def test_rated_replies_only_and_the_low_volume_rule(built):
    assert binom_sf(3, 4, 0.25) == pytest.approx(0.0508, abs=1e-4)
    assert binom_sf(8, 10, 0.25) < 0.001
    now = rows(built, D)
    assert now["S1"] == (3, 4, "good", True, 0.25)  # the fifth message has no verdict
    assert now["S2"] == (8, 10, "poor", False, 0.25)
    assert now["S3"] == (0, 1, "good", False, 0.25)  # M2's verdict is not known yet


def test_a_verdict_counts_from_the_day_it_arrives(built):
    assert rows(built, LATER)["S3"] == (1, 2, "good", True, 0.25)
    before = rows(built, D)
    build(built, D)  # a rerun of D, after 12-02 was loaded
    assert rows(built, D) == before


def test_it_takes_part_in_the_account_status_and_the_plan(built):
    with open_warehouse(built.warehouse, read_only=True) as con:
        card = con.execute(
            "select account_status, failing_metrics, customer_service_dissatisfaction_rate, "
            "customer_service_dissatisfaction_rate_status from marts.seller_scorecard "
            "where seller_id = 'S2' and as_of_date = ?",
            [D],
        ).fetchone()
        drivers = con.execute(
            "select dimension, value, bad_events, population from marts.metric_drivers "
            "where seller_id = 'S2' and as_of_date = ? and metric = ? and rank = 1 "
            "order by dimension",
            [D, METRIC],
        ).fetchall()
        outlook = con.execute(
            "select status from marts.metric_outlook where seller_id = 'S2' "
            "and as_of_date = ? and metric = ?",
            [D, METRIC],
        ).fetchone()
    assert card[0] == "critical" and f"{METRIC}/all" in card[1]
    assert card[2] == pytest.approx(0.8) and card[3] == "poor"
    assert ("sku", "SKU-A", 8, 8) in drivers
    assert ("weekday", "Friday", 8, 10) in drivers
    assert outlook == ("poor",)
