"""Order defect rate family (SPEC §3.2–3.4) on a fixture whose numbers were worked out by hand.

As of D = 2026-11-20 (lag 14 days), the windows are
    30 days: 2026-10-08 .. 2026-11-06
    60 days: 2026-09-08 .. 2026-11-06   (headline)
    90 days: 2026-08-09 .. 2026-11-06

Seller S1's orders and what happened to them:

    order  channel purchased   event                                     defective?
    M1     MFN     2026-10-15  feedback 1 star                           yes (negative feedback)
    M2     MFN     2026-10-15  feedback 2 stars, removed                 no  (removed)
    M3     MFN     2026-10-15  feedback 3 stars                          no
    M4     MFN     2026-10-15  claim granted                             yes (claim)
    M5     MFN     2026-10-15  claim denied                              no
    M6     MFN     2026-10-15  chargeback service, upheld                yes (chargeback)
    M7     MFN     2026-10-15  chargeback fraud, upheld                  no  (fraud)
    M8     MFN     2026-10-15  chargeback service, reversed              no  (reversed)
    M9     MFN     2026-09-20  feedback 1 star AND claim open            yes, counted once
    M10    MFN     2026-09-20  -                                         no
    M11    MFN     2026-08-20  claim seller_refunded                     yes (90-day window only)
    M12    MFN     2026-11-10  feedback 1 star                           yes, but after the windows
    A1     AFN     2026-10-20  claim marketplace_funded                  no
    A2     AFN     2026-10-20  claim withdrawn + chargeback service open yes (chargeback)
    A3-A4  AFN     2026-10-20  -                                         no
    A5     AFN     2026-09-01  feedback 1 star                           yes (90-day window only)

    60 days: all 5/14 (M1 M4 M6 M9 A2), MFN 4/10, AFN 1/4
    30 days: all 4/12 (M1 M4 M6 A2),    MFN 3/8,  AFN 1/4
    90 days: all 7/16 (+ M11, A5),      MFN 5/11, AFN 2/5
    60-day split (all): negative feedback 2/14 (M1 M9), claims 2/14 (M4 M9),
                        chargebacks 2/14 (M6 A2)
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from tests.extracts import order, seller, write_extract

D = date(2026, 11, 20)
LATER = date(2026, 11, 25)


def feedback(order_id, left, rating, removed=False, updated=None):
    return {
        "order_id": order_id,
        "left_at": left,
        "rating": rating,
        "removed": removed,
        "last_updated_at": updated or left,
    }


def claim(claim_id, order_id, filed, status, updated=None):
    return {
        "claim_id": claim_id,
        "order_id": order_id,
        "filed_at": filed,
        "status": status,
        "last_updated_at": updated or filed,
    }


def chargeback(cb_id, order_id, filed, kind, status):
    return {
        "chargeback_id": cb_id,
        "order_id": order_id,
        "filed_at": filed,
        "kind": kind,
        "status": status,
        "last_updated_at": filed,
    }


def write_day_one(landing):
    write_extract(landing, D, "sellers", [seller("S1"), seller("S2", seller_name="Quiet shop")])
    orders = [order(f"M{n}", "2026-10-15") for n in range(1, 9)]
    orders += [order("M9", "2026-09-20"), order("M10", "2026-09-20")]
    orders += [order("M11", "2026-08-20"), order("M12", "2026-11-10")]
    orders += [order(f"A{n}", "2026-10-20", channel="AFN") for n in range(1, 5)]
    orders += [order("A5", "2026-09-01", channel="AFN")]
    write_extract(landing, D, "orders", orders)
    write_extract(
        landing,
        D,
        "feedback",
        [
            feedback("M1", "2026-10-25T12:00:00Z", 1),
            feedback("M2", "2026-10-25T12:00:00Z", 2, removed=True),
            feedback("M3", "2026-10-25T12:00:00Z", 3),
            feedback("M9", "2026-10-01T12:00:00Z", 1),
            feedback("M12", "2026-11-15T12:00:00Z", 1),
            feedback("A5", "2026-09-10T12:00:00Z", 1),
        ],
    )
    write_extract(
        landing,
        D,
        "claims",
        [
            claim("C4", "M4", "2026-10-30T09:00:00Z", "granted"),
            claim("C5", "M5", "2026-10-30T09:00:00Z", "denied"),
            claim("C9", "M9", "2026-10-05T09:00:00Z", "open"),
            claim("C11", "M11", "2026-09-01T09:00:00Z", "seller_refunded"),
            claim("CA1", "A1", "2026-11-01T09:00:00Z", "marketplace_funded"),
            claim("CA2", "A2", "2026-11-01T09:00:00Z", "withdrawn"),
        ],
    )
    write_extract(
        landing,
        D,
        "chargebacks",
        [
            chargeback("K6", "M6", "2026-11-02T09:00:00Z", "service", "upheld"),
            chargeback("K7", "M7", "2026-11-02T09:00:00Z", "fraud", "upheld"),
            chargeback("K8", "M8", "2026-11-02T09:00:00Z", "service", "reversed"),
            chargeback("KA2", "A2", "2026-11-02T09:00:00Z", "service", "open"),
        ],
    )


def write_day_two(landing):
    """Changes that arrive after D: they must not alter what was known at D."""
    write_extract(
        landing,
        LATER,
        "feedback",
        [
            # M1's negative feedback is removed; M3's rating drops to 1 star.
            feedback("M1", "2026-10-25T12:00:00Z", 1, removed=True, updated="2026-11-22T08:00:00Z"),
            feedback("M3", "2026-10-25T12:00:00Z", 1, updated="2026-11-24T08:00:00Z"),
            # Late-arriving: left on the 19th, delivered only in the folder of the 25th.
            feedback("M10", "2026-11-19T12:00:00Z", 1),
        ],
    )
    # M4's claim is denied after review.
    write_extract(
        landing,
        LATER,
        "claims",
        [claim("C4", "M4", "2026-10-30T09:00:00Z", "denied", updated="2026-11-23T09:00:00Z")],
    )


def metrics(settings, as_of, seller_id="S1"):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select metric, channel, window_days, numerator, denominator, rate, status, "
            "low_volume, target, target_condition, window_start, window_end "
            "from marts.seller_metrics where seller_id = ? and as_of_date = ?",
            [seller_id, as_of],
        ).fetchall()
    finally:
        con.close()
    return {(r[0], r[1], r[2]): r[3:] for r in rows}


@pytest.fixture
def built(settings):
    write_day_one(settings.landing_dir)
    load_day(settings, D)
    build(settings, D)
    return settings


@pytest.mark.parametrize(
    ("channel", "window", "numerator", "denominator"),
    [
        ("all", 60, 5, 14),
        ("MFN", 60, 4, 10),
        ("AFN", 60, 1, 4),
        ("all", 30, 4, 12),
        ("MFN", 30, 3, 8),
        ("AFN", 30, 1, 4),
        ("all", 90, 7, 16),
        ("MFN", 90, 5, 11),
        ("AFN", 90, 2, 5),
    ],
)
def test_order_defect_rate_counts(built, channel, window, numerator, denominator):
    row = metrics(built, D)[("order_defect_rate", channel, window)]
    assert row[:3] == (numerator, denominator, pytest.approx(numerator / denominator))


def test_window_dates_follow_the_lag(built):
    m = metrics(built, D)
    assert m[("order_defect_rate", "all", 60)][-2:] == (date(2026, 9, 8), date(2026, 11, 6))
    assert m[("order_defect_rate", "all", 30)][-2:] == (date(2026, 10, 8), date(2026, 11, 6))
    assert m[("order_defect_rate", "all", 90)][-2:] == (date(2026, 8, 9), date(2026, 11, 6))


def test_defect_split(built):
    m = metrics(built, D)
    assert m[("negative_feedback_rate", "all", 60)][:2] == (2, 14)
    assert m[("claim_rate", "all", 60)][:2] == (2, 14)
    assert m[("chargeback_rate", "all", 60)][:2] == (2, 14)
    assert m[("chargeback_rate", "AFN", 60)][:2] == (1, 4)
    # The split has no target of its own.
    assert m[("claim_rate", "all", 60)][3:7] == ("none", False, None, None)


def test_statuses_and_low_volume(built):
    m = metrics(built, D)
    # 5 defects in 14 orders against a 1 % target: credible, and above the 2 % poor-at.
    assert m[("order_defect_rate", "all", 60)][3:7] == ("poor", False, 0.01, "LESS_THAN")
    # 1 defect in 4 AFN orders is 25 %, but one bad event alone is never evidence.
    assert m[("order_defect_rate", "AFN", 60)][3:5] == ("good", True)


def test_seller_without_orders_gets_every_row_with_status_none(built):
    m = metrics(built, D, seller_id="S2")
    assert len(m) == len(metrics(built, D))
    notices = m.pop(("policy_notices", "all", 180))
    assert {v[:5] for v in m.values()} == {(0, 0, None, "none", False)}
    # Policy notices are a count with no denominator, and good when there are none.
    assert notices[:4] == (0, None, None, "good")


def test_scorecard_and_defective_orders(built):
    con = duckdb.connect(str(built.warehouse), read_only=True)
    card = dict(
        con.execute(
            "select seller_id, account_status from marts.seller_scorecard where as_of_date = ?",
            [D],
        ).fetchall()
    )
    defective = con.execute(
        "select order_id, is_negative_feedback, is_counting_claim, is_service_chargeback "
        "from marts.defective_orders where seller_id = 'S1' and as_of_date = ? order by order_id",
        [D],
    ).fetchall()
    con.close()
    assert card == {"S1": "critical", "S2": "healthy"}
    assert defective == [
        ("A2", False, False, True),
        ("M1", True, False, False),
        ("M4", False, True, False),
        ("M6", False, False, True),
        ("M9", True, True, False),
    ]


def test_building_as_of_d_again_after_later_changes_gives_the_same_rows(built):
    before = metrics(built, D)
    write_day_two(built.landing_dir)
    load_day(built, LATER)
    build(built, LATER)
    build(built, D)
    assert metrics(built, D) == before

    # As of the 25th the changes count. Windows: 60 days = 2026-09-13 .. 2026-11-11, which
    # now holds M12 too (15 orders). Defective: M3 (now 1 star), M6, M9, M10 (late
    # feedback), M12, A2 = 6. M1 (removed) and M4 (denied) no longer count.
    later = metrics(built, LATER)
    assert later[("order_defect_rate", "all", 60)][:2] == (6, 15)
    assert later[("negative_feedback_rate", "all", 60)][:2] == (4, 15)  # M3 M9 M10 M12
    assert later[("claim_rate", "all", 60)][:2] == (1, 15)  # M9
