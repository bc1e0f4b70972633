"""Every metric of SPEC §3.3 beyond the order defect rate, on a fixture marketplace where
each seller exercises one area. Every expected value is worked out by hand below.

As of D = 2026-11-20 (a Friday). Windows (SPEC 3.1: N days, lag L -> [D-L-N+1, D-L]):
    cancellation_rate         7 d  purchase date          2026-11-14 .. 2026-11-20
    late_shipment_rate       10 d  latest ship date       2026-11-11 .. 2026-11-20
                             30 d                         2026-10-22 .. 2026-11-20
    valid_tracking_rate      30 d  latest delivery date   2026-10-22 .. 2026-11-20
    on_time_delivery_rate    14 d  latest delivery date   2026-10-31 .. 2026-11-13 (lag 7)
    refund_rate              30 d  purchase date          2026-10-22 .. 2026-11-20
    contact_response_rate  7/30/90 d  received date       .. 2026-11-20
    first_contact_resolution 56 d  thread's first message 2026-09-26 .. 2026-11-20
    perfect_order_rate       90 d  purchase date          2026-08-23 .. 2026-11-20
    feedback_positive_rate  365 d  feedback date          2025-11-21 .. 2026-11-20
    policy_notices          180 d  issued date            2026-05-25 .. 2026-11-20
"""

from __future__ import annotations

import math
from datetime import date

import duckdb
import pytest
from scipy import stats

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from tests.extracts import (
    cancellation,
    empty_extracts,
    feedback,
    message,
    notice,
    order,
    refund,
    seller,
    shipment,
    write_day,
    write_extract,
)

D = date(2026, 11, 20)
LATER = date(2026, 11, 24)


def fixture_rows() -> dict[str, list[dict]]:
    rows = empty_extracts()
    rows["sellers"] = [seller(f"S{n}") for n in range(1, 16)]

    # S1 cancellations: 10 MFN orders purchased 11-18; C1 cancelled by the seller, C2 by
    # the buyer, C3 by the marketplace. Outside the metric: an AFN order and an order of
    # 11-10 (before the 7-day window), both cancelled by the seller.
    #   cancellation_rate MFN 7 d = 1 / 10 (only seller cancellations count)
    rows["orders"] += [order(f"C{n}", "2026-11-18", seller_id="S1") for n in range(1, 11)]
    rows["orders"] += [
        order("C11", "2026-11-10", seller_id="S1"),
        order("CA1", "2026-11-18", seller_id="S1", channel="AFN"),
    ]
    rows["cancellations"] += [
        cancellation("C1", "2026-11-18T15:00:00Z", "seller"),
        cancellation("C2", "2026-11-18T15:00:00Z", "buyer"),
        cancellation("C3", "2026-11-18T15:00:00Z", "marketplace"),
        cancellation("C11", "2026-11-10T15:00:00Z", "seller"),
        cancellation("CA1", "2026-11-18T15:00:00Z", "seller"),
    ]

    # S2 late shipment, by latest ship date:
    #   L1 due 11-15, confirmed 11-15 23:59   on time
    #   L2 due 11-15, confirmed 11-16         late (confirmed on a later date)
    #   L3 due 11-19, never confirmed         late (overdue: 11-19 < D)
    #   L4 due 11-20, never confirmed         not late (due today)
    #   L5 due 11-18, cancelled by the buyer  not in the denominator
    #   L6 due 11-01, confirmed 11-03         late, 30-day window only
    #   L7 due 11-25                          after the windows
    #   10 d: 2 late of 4 (L1-L4); 30 d: 3 late of 5 (+ L6)
    def due(order_id: str, purchased: str, ship_by: str) -> dict:
        return order(
            order_id,
            purchased,
            seller_id="S2",
            latest_ship_date=ship_by,
            latest_delivery_date="2026-12-01",
        )

    rows["orders"] += [
        due("L1", "2026-11-13", "2026-11-15"),
        due("L2", "2026-11-13", "2026-11-15"),
        due("L3", "2026-11-17", "2026-11-19"),
        due("L4", "2026-11-18", "2026-11-20"),
        due("L5", "2026-11-16", "2026-11-18"),
        due("L6", "2026-10-30", "2026-11-01"),
        due("L7", "2026-11-20T08:00:00Z", "2026-11-25"),
    ]
    rows["shipments"] += [
        shipment("L1", "2026-11-15T23:59:00Z"),
        shipment("L2", "2026-11-16T08:00:00Z"),
        shipment("L6", "2026-11-03T08:00:00Z"),
    ]
    rows["cancellations"] += [cancellation("L5", "2026-11-17", "buyer")]

    # S3 tracking and delivery, all due for delivery on 11-10:
    #   T1 tracking + scan, delivered 11-09   valid, on time
    #   T2 tracking + scan, delivered 11-12   valid, late
    #   T3 tracking + scan, not delivered     valid, not on time
    #   T4 no tracking id, delivered 11-08    not valid
    #   T5 tracking id but never scanned      not valid
    #   T6 never ship-confirmed               not in the denominators
    #   TA AFN, tracked                       not in the metrics (MFN only)
    #   valid_tracking 3 / 5; on_time_delivery 1 / 3
    # Units (quantity): T1 4, T2 1, T3 1, T4 5, T5 2, T6 3, TA 7.
    #   unit_on_time_delivery = units of valid-tracking orders delivered on time / units
    #   of valid-tracking orders = T1 4 / (T1 4 + T2 1 + T3 1) = 4 / 6
    units = {"T1": 4, "T2": 1, "T3": 1, "T4": 5, "T5": 2, "T6": 3, "TA": 7}

    def tracked(order_id: str, channel: str = "MFN") -> dict:
        return order(
            order_id,
            "2026-11-01",
            seller_id="S3",
            channel=channel,
            latest_ship_date="2026-11-03" if channel == "MFN" else None,
            latest_delivery_date="2026-11-10" if channel == "MFN" else None,
            quantity=units[order_id],
        )

    rows["orders"] += [tracked(f"T{n}") for n in range(1, 7)] + [tracked("TA", "AFN")]
    rows["shipments"] += [
        shipment("T1", "2026-11-02", delivered_at="2026-11-09T12:00:00Z"),
        shipment("T2", "2026-11-02", delivered_at="2026-11-12T12:00:00Z"),
        shipment("T3", "2026-11-02"),
        shipment(
            "T4",
            "2026-11-02",
            tracking_id=None,
            first_scan_at=None,
            delivered_at="2026-11-08T12:00:00Z",
        ),
        shipment("T5", "2026-11-02", first_scan_at=None),
        shipment("TA", "2026-11-02", delivered_at="2026-11-04T12:00:00Z"),
    ]

    # S4 refunds and perfect orders, all AFN (no shipping promise to miss):
    #   R1 11-01 two refunds, R2 11-01 one refund, R3 R4 11-01 nothing, R5 10-01 refunded
    #   refund_rate 30 d = 2 / 4 (R1 counted once; R5 is before the window)
    #   perfect_order_rate 90 d = 2 / 5 (R3, R4)
    rows["orders"] += [
        order(f"R{n}", "2026-11-01", seller_id="S4", channel="AFN") for n in range(1, 5)
    ] + [order("R5", "2026-10-01", seller_id="S4", channel="AFN")]
    rows["refunds"] += [
        refund("RF1", "R1", "2026-11-05"),
        refund("RF2", "R1", "2026-11-06"),
        refund("RF3", "R2", "2026-11-05"),
        refund("RF5", "R5", "2026-10-05"),
    ]

    # S5 buyer messages (thread in brackets):
    #   M1 [TH1] 11-18 10:00, answered 12:00       due, in 24 h (2 h)
    #   M2 [TH1] 11-17 10:00, answered 11-18 12:00 due, late (26 h)
    #   M3 [TH2] 11-18 09:00, unanswered           due, missed
    #   M4 [TH3] 11-20 08:00, unanswered           not yet due
    #   M5 [TH4] 11-20 06:00, answered 07:00       due, in 24 h (1 h)
    #   M6 [TH5] 11-16, no response needed          excluded
    #   M7 [TH5] 11-16, no response needed, answered excluded
    #   M8 [TH6] 11-01 10:00, answered 22:00       due, in 24 h (12 h), 30/90 d only
    #   M9 [TH7] 10-01 10:00, answered 10-03 10:00 due, late (48 h), 90 d only
    #   contact_response: 7 d 2/4 (M1 M5 of M1 M2 M3 M5), 30 d 3/5 (+M8), 90 d 3/6 (+M9)
    #   avg_response_hours 30 d: (2 + 26 + 1 + 12) / 4 = 10.25
    #   first_contact_resolution 56 d: threads TH1..TH7, single-message TH2 TH3 TH4 TH6
    #   TH7 -> 5 / 7
    # M1 concerns order P1: buyer contact, so P1 is not perfect; P2 is.
    #   perfect_order_rate 90 d = 1 / 2
    # Feedback (365 d by feedback date): F1 5, F2 4, F3 3, F4 1, F5 5 removed, F6 left
    # 2025-11-01 (before the window) -> feedback_positive_rate 2 / 4
    rows["messages"] += [
        message(
            "M1",
            "2026-11-18T10:00:00Z",
            "2026-11-18T12:00:00Z",
            seller_id="S5",
            thread_id="TH1",
            order_id="P1",
        ),
        message(
            "M2", "2026-11-17T10:00:00Z", "2026-11-18T12:00:00Z", seller_id="S5", thread_id="TH1"
        ),
        message("M3", "2026-11-18T09:00:00Z", seller_id="S5", thread_id="TH2"),
        message("M4", "2026-11-20T08:00:00Z", seller_id="S5", thread_id="TH3"),
        message(
            "M5", "2026-11-20T06:00:00Z", "2026-11-20T07:00:00Z", seller_id="S5", thread_id="TH4"
        ),
        message(
            "M6", "2026-11-16T10:00:00Z", seller_id="S5", thread_id="TH5", no_response_needed=True
        ),
        message(
            "M7",
            "2026-11-16T11:00:00Z",
            "2026-11-16T12:00:00Z",
            seller_id="S5",
            thread_id="TH5",
            no_response_needed=True,
        ),
        message(
            "M8", "2026-11-01T10:00:00Z", "2026-11-01T22:00:00Z", seller_id="S5", thread_id="TH6"
        ),
        message(
            "M9", "2026-10-01T10:00:00Z", "2026-10-03T10:00:00Z", seller_id="S5", thread_id="TH7"
        ),
    ]
    rows["orders"] += [
        order("P1", "2026-11-10", seller_id="S5", channel="AFN"),
        order("P2", "2026-11-10", seller_id="S5", channel="AFN"),
    ]
    rows["orders"] += [
        order(f"F{n}", "2026-06-01", seller_id="S5", channel="AFN") for n in range(1, 6)
    ] + [order("F6", "2025-10-01", seller_id="S5", channel="AFN")]
    rows["feedback"] += [
        feedback("F1", "2026-06-10", 5),
        feedback("F2", "2026-06-10", 4),
        feedback("F3", "2026-06-10", 3),
        feedback("F4", "2026-06-10", 1),
        feedback("F5", "2026-06-10", 5, removed=True),
        feedback("F6", "2025-11-01", 5),
    ]

    # Notices (180 d window 2026-05-25 .. 2026-11-20):
    #   S6: N1 critical unread unresolved; N2 low, read          -> poor, 2 notices, 1 unread
    #   S7: N3 medium unread; N4 critical unread but resolved    -> fair, 2 notices, 1 unread
    #   S8: N5 critical read; N6 high unread but issued 04-01    -> good, 1 notice, 0 unread
    #   S9: N7 critical unread, issued on D                      -> poor
    rows["notices"] += [
        notice("N1", "S6", "2026-11-01", "critical"),
        notice("N2", "S6", "2026-11-01", "low", read="2026-11-02"),
        notice("N3", "S7", "2026-10-01", "medium"),
        notice("N4", "S7", "2026-10-01", "critical", resolved="2026-10-05"),
        notice("N5", "S8", "2026-09-01", "critical", read="2026-09-02"),
        notice("N6", "S8", "2026-04-01", "high"),
        notice("N7", "S9", "2026-11-20T08:00:00Z", "critical"),
    ]

    # Spikes (first defect events; baseline 2026-08-22 .. 11-13, last 7 days 11-14 .. 11-20):
    #   S10: 50 clean orders in the ODR window + 4 orders of 11-12 with negative feedback
    #        on 11-15..11-18. Baseline 0 -> lambda 0.5; P(Y >= 4) = 0.00175 < 0.01: spike.
    #   S11: the same with 3 recent defects: P(Y >= 3) = 0.0144: no spike.
    #   S12: 4 recent, and 24 first defects in the baseline -> lambda 2; P(Y >= 4) = 0.143.
    for sid, recent, baseline in (("S10", 4, 0), ("S11", 3, 0), ("S12", 4, 24)):
        rows["orders"] += [
            order(f"{sid}-OK{n}", "2026-10-15", seller_id=sid, channel="AFN") for n in range(50)
        ]
        for n in range(recent):
            oid = f"{sid}-NEW{n}"
            rows["orders"].append(order(oid, "2026-11-12", seller_id=sid, channel="AFN"))
            rows["feedback"].append(feedback(oid, f"2026-11-{15 + n}", 1))
        for n in range(baseline):
            oid = f"{sid}-OLD{n}"
            rows["orders"].append(order(oid, "2026-08-20", seller_id=sid, channel="AFN"))
            rows["feedback"].append(feedback(oid, "2026-09-01", 1))

    # Low volume: 1 defect in 10 orders (S13) vs 2 defects in 10 (S14), ODR window.
    #   S13: x = 1 < 2 bad events: never evidence -> good, low volume
    #   S14: P(X >= 2 | Bin(10, 0.01)) = 0.0043 < 0.05 -> credible, 20 % >= 2 % -> poor
    for sid, bad in (("S13", 1), ("S14", 2)):
        for n in range(10):
            oid = f"{sid}-O{n}"
            rows["orders"].append(order(oid, "2026-10-15", seller_id=sid, channel="AFN"))
            if n < bad:
                rows["feedback"].append(feedback(oid, "2026-10-20", 1))
    # S15 has no orders at all.
    return rows


def later_rows() -> dict[str, list[dict]]:
    """What happens after D to orders and notices that existed at D."""
    return {
        # L3 is finally confirmed; T3 is delivered; M3 is answered; N1 is read.
        "shipments": [
            shipment("L3", "2026-11-21T08:00:00Z"),
            shipment("T3", "2026-11-02", delivered_at="2026-11-22T08:00:00Z"),
        ],
        "messages": [
            message(
                "M3",
                "2026-11-18T09:00:00Z",
                "2026-11-21T09:00:00Z",
                seller_id="S5",
                thread_id="TH2",
            ),
        ],
        "notices": [notice("N1", "S6", "2026-11-01", "critical", read="2026-11-23")],
        # F4's 1-star feedback is removed; a late refund for R3.
        "feedback": [
            feedback("F4", "2026-06-10", 1, removed=True, last_updated_at="2026-11-22T10:00:00Z")
        ],
        "refunds": [refund("RF6", "R3", "2026-11-23")],
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from pipeline.settings import Settings

    root = tmp_path_factory.mktemp("metrics")
    settings = Settings(
        landing_dir=root / "landing", warehouse=root / "w.duckdb", out_dir=root / "out"
    )
    write_day(settings.landing_dir, D, fixture_rows())
    load_day(settings, D)
    build(settings, D)
    return settings


def metric(settings, seller_id, name, channel="all", window=None, as_of=D):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select window_days, numerator, denominator, rate, status, low_volume, spike "
            "from marts.seller_metrics where seller_id = ? and metric = ? and channel = ? "
            "and as_of_date = ? order by window_days",
            [seller_id, name, channel, as_of],
        ).fetchall()
    finally:
        con.close()
    by_window = {r[0]: r[1:] for r in rows}
    return by_window[window] if window else by_window


def scorecard(settings, seller_id, as_of=D):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        cur = con.execute(
            "select * from marts.seller_scorecard where seller_id = ? and as_of_date = ?",
            [seller_id, as_of],
        )
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchall()[0], strict=True))
    finally:
        con.close()


# --- fulfilment ------------------------------------------------------------------------


def test_cancellation_rate_counts_seller_cancellations_of_mfn_orders(warehouse):
    assert metric(warehouse, "S1", "cancellation_rate", "MFN", 7) == (
        1,
        10,
        0.1,
        "good",
        True,
        False,
    )


def test_late_shipment_rate(warehouse):
    assert metric(warehouse, "S2", "late_shipment_rate", "MFN", 10)[:3] == (2, 4, 0.5)
    assert metric(warehouse, "S2", "late_shipment_rate", "MFN", 30)[:3] == (3, 5, 0.6)


def test_valid_tracking_and_on_time_delivery(warehouse):
    # 3 valid of 5: P(X <= 3 | Bin(5, 0.95)) = 0.0226 < 0.05 and 60 % < 90 % -> poor.
    assert metric(warehouse, "S3", "valid_tracking_rate", "MFN", 30) == (
        3,
        5,
        0.6,
        "poor",
        False,
        False,
    )
    # 1 on time of 3: P(X <= 1 | Bin(3, 0.9)) = 0.028 < 0.05 and 33 % < 80 % -> poor.
    assert metric(warehouse, "S3", "on_time_delivery_rate", "MFN", 14)[:4] == (
        1,
        3,
        pytest.approx(1 / 3),
        "poor",
    )


def test_unit_on_time_delivery_counts_units_not_orders(warehouse):
    # 4 of 6 units on time (1 of 3 orders). A miss of the 90 % target by 2 units:
    # P(X <= 4 | Bin(6, 0.9)) = 1 - 6 * 0.9^5 * 0.1 - 0.9^6 = 0.1143 >= 0.05, so not
    # credible at this volume: good, low volume (the order-level rate above is poor).
    assert metric(warehouse, "S3", "unit_on_time_delivery_rate", "MFN") == {
        14: (4, 6, pytest.approx(4 / 6), "good", True, False)
    }
    card = scorecard(warehouse, "S3")
    assert card["unit_on_time_delivery_rate"] == pytest.approx(4 / 6)
    assert card["unit_on_time_delivery_rate_status"] == "good"
    # A seller without MFN deliveries: 0 of 0, no rate, status none.
    assert metric(warehouse, "S4", "unit_on_time_delivery_rate", "MFN", 14)[:4] == (
        0,
        0,
        None,
        "none",
    )


def test_refund_rate_and_perfect_orders(warehouse):
    assert metric(warehouse, "S4", "refund_rate", "all", 30) == (2, 4, 0.5, "none", False, False)
    # 2 perfect of 5: P(X <= 2 | Bin(5, 0.95)) = 0.0012 -> credible; 40 % < 90 % -> poor.
    assert metric(warehouse, "S4", "perfect_order_rate", "all", 90)[:4] == (2, 5, 0.4, "poor")


# --- buyer messages ----------------------------------------------------------------------


def test_contact_response_rate_windows_and_low_volume(warehouse):
    rows = metric(warehouse, "S5", "contact_response_rate")
    # 7 d: 2 of 4; P(X <= 2 | Bin(4, 0.9)) = 0.0523 >= 0.05 -> not credible: good, low volume.
    assert rows[7] == (2, 4, 0.5, "good", True, False)
    # 30 d: 3 of 5; P(X <= 3 | Bin(5, 0.9)) = 0.0815 -> good, low volume.
    assert rows[30] == (3, 5, 0.6, "good", True, False)
    # 90 d: 3 of 6; P(X <= 3 | Bin(6, 0.9)) = 0.0159 < 0.05 and 50 % < 80 % -> poor.
    assert rows[90] == (3, 6, 0.5, "poor", False, False)


def test_the_binomial_tails_behind_those_statuses():
    """The hand-computed tails quoted above, so a reader can trust the thresholds."""
    assert stats.binom.cdf(2, 4, 0.9) == pytest.approx(0.0523)
    assert stats.binom.cdf(3, 5, 0.9) == pytest.approx(0.08146)
    assert stats.binom.cdf(3, 6, 0.9) == pytest.approx(0.01585, abs=1e-5)
    assert stats.binom.cdf(3, 5, 0.95) == pytest.approx(0.0226, abs=1e-4)
    assert stats.binom.sf(1, 10, 0.01) == pytest.approx(0.004266, abs=1e-6)
    assert stats.poisson.sf(3, 0.5) == pytest.approx(0.001752, abs=1e-6)
    assert stats.poisson.sf(2, 0.5) == pytest.approx(0.01439, abs=1e-5)


def test_average_response_hours(warehouse):
    assert metric(warehouse, "S5", "avg_response_hours", "all", 30)[:4] == (41, 4, 10.25, "none")


def test_first_contact_resolution(warehouse):
    assert metric(warehouse, "S5", "first_contact_resolution_rate", "all", 56)[:3] == (
        5,
        7,
        pytest.approx(5 / 7),
    )


def test_buyer_contact_makes_an_order_imperfect(warehouse):
    # P1 + P2 in the window; P1 has a buyer message. 1 of 2 perfect: n - x = 1 < 2 -> low volume.
    assert metric(warehouse, "S5", "perfect_order_rate", "all", 90) == (
        1,
        2,
        0.5,
        "good",
        True,
        False,
    )


def test_feedback_positive_rate(warehouse):
    assert metric(warehouse, "S5", "feedback_positive_rate", "all", 365)[:4] == (2, 4, 0.5, "none")
    assert scorecard(warehouse, "S5")["feedback_positive_rate"] == 0.5


# --- notices -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seller_id", "count", "status", "unread", "account"),
    [
        ("S6", 2, "poor", 1, "critical"),
        ("S7", 2, "fair", 1, "at_risk"),
        ("S8", 1, "good", 0, "healthy"),
        ("S9", 1, "poor", 1, "critical"),
    ],
)
def test_policy_notices(warehouse, seller_id, count, status, unread, account):
    assert metric(warehouse, seller_id, "policy_notices", "all", 180) == (
        count,
        None,
        None,
        status,
        False,
        False,
    )
    card = scorecard(warehouse, seller_id)
    assert (card["policy_notices"], card["policy_notices_status"]) == (count, status)
    assert (card["unread_notices"], card["account_status"]) == (unread, account)


# --- spikes and low volume -----------------------------------------------------------------


def test_spike_raises_a_good_rate_to_fair(warehouse):
    assert metric(warehouse, "S10", "order_defect_rate", "all", 60) == (
        0,
        50,
        0.0,
        "fair",
        False,
        True,
    )
    assert scorecard(warehouse, "S10")["account_status"] == "at_risk"
    assert metric(warehouse, "S10", "order_defect_rate", "all", 30)[-1] is False


@pytest.mark.parametrize("seller_id", ["S11", "S12"])
def test_no_spike_below_the_poisson_threshold(warehouse, seller_id):
    assert metric(warehouse, seller_id, "order_defect_rate", "all", 60)[3:] == (
        "good",
        False,
        False,
    )


def test_one_defect_in_ten_orders_is_low_volume_two_is_poor(warehouse):
    assert metric(warehouse, "S13", "order_defect_rate", "all", 60) == (
        1,
        10,
        0.1,
        "good",
        True,
        False,
    )
    assert metric(warehouse, "S14", "order_defect_rate", "all", 60) == (
        2,
        10,
        0.2,
        "poor",
        False,
        False,
    )


def test_seller_with_no_orders(warehouse):
    card = scorecard(warehouse, "S15")
    assert card["account_status"] == "healthy"
    assert card["seller_rating"] is None
    assert metric(warehouse, "S15", "late_shipment_rate", "MFN", 30) == (
        0,
        0,
        None,
        "none",
        False,
        False,
    )


# --- scores ------------------------------------------------------------------------------


def test_seller_rating(warehouse):
    # S4: R1 R2 refunded (50 points), R3 R4 perfect (100), all 19 days old; R5 refunded
    # (50), 50 days old. Weight 0.5 ^ (age / 90).
    w19, w50 = 0.5 ** (19 / 90), 0.5 ** (50 / 90)
    expected = (50 * w19 * 2 + 100 * w19 * 2 + 50 * w50) / (4 * w19 + w50)
    assert scorecard(warehouse, "S4")["seller_rating"] == pytest.approx(expected)
    # By hand: (86.38 + 172.76 + 34.02) / (3.4552 + 0.6804) = 293.16 / 4.1356 = 70.89
    assert math.isclose(expected, 70.89, abs_tol=0.01)


# --- as known at the end of D --------------------------------------------------------------


def _all_marts(settings, as_of):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return {
            table: con.execute(
                f"select * from marts.{table} where as_of_date = ? order by all", [as_of]
            ).fetchall()
            for table in (
                "seller_metrics",
                "seller_scorecard",
                "defective_orders",
                "product_line_metrics",
            )
        }
    finally:
        con.close()


def test_rebuilding_d_after_later_changes_gives_identical_marts(warehouse):
    before = _all_marts(warehouse, D)
    for dataset, rows in later_rows().items():
        write_extract(warehouse.landing_dir, LATER, dataset, rows)
    load_day(warehouse, LATER)
    build(warehouse, LATER)
    build(warehouse, D)
    assert _all_marts(warehouse, D) == before
    # ... while as of the later date the changes are visible:
    assert metric(warehouse, "S6", "policy_notices", "all", 180, as_of=LATER)[3] == "good"
    assert metric(warehouse, "S5", "feedback_positive_rate", "all", 365, as_of=LATER)[:2] == (2, 3)
