"""marts.metric_outlook (SPEC §3.6) on sellers whose outlook was worked out by hand.

The binomial and Poisson tails the status rules read come from tests/tails.py, apart from
the pipeline's own code (pipeline/models/stats.py), so each premise is checked too.
Every scenario is as of Sunday D = 2026-11-29.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.warehouse import open_warehouse
from tests.extracts import (
    empty_extracts,
    feedback,
    order,
    reference_with,
    seller,
    shipment,
    write_day,
)
from tests.tails import binom_sf, poisson_sf

D = date(2026, 11, 29)


def outlook(settings, as_of: date = D, seller_id: str = "S1") -> dict[tuple[str, str], dict]:
    with open_warehouse(settings.warehouse, read_only=True) as con:
        cur = con.execute(
            "select * from marts.metric_outlook where as_of_date = ? and seller_id = ?",
            [as_of, seller_id],
        )
        names = [c[0] for c in cur.description]
        return {(r[2], r[3]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def load(settings, days: dict[date, dict]) -> None:
    for day, extracts in sorted(days.items()):
        write_day(settings.landing_dir, day, extracts)
        load_day(settings, day)


def test_a_defect_ages_out_and_the_low_volume_rule_decides_earlier(settings):
    """Order defect rate, MFN, 60 days with a 14-day lag: as of D the window holds the
    purchase dates 2026-09-17 .. 2026-11-15.

    09-20: 10 orders, 2 with negative feedback; 10-05: 10 orders, 1; 10-20: 40 clean.
    D: 3 / 60 = 5 %; P(X >= 3 | Bin(60, 1 %)) = 0.022 < 0.05, 5 % >= 2 %: poor.
    R = D + i keeps purchase dates from 09-17 + i and gains max(0, i - 14) clean orders
    (60 orders / 60 days = 1 a day). i = 1..3: 09-20 is still in, 3 / 60: poor.
    i = 4 (2026-12-03): 09-20 left; 1 / 50 = 2 % misses the 1 % target, but one bad event
    is never evidence (low volume): good. So back on target on 12-03 with the 2 defects
    of 09-20 gone, two weeks before the last one (10-05) would leave on 12-18.
    In 7 days (window from 09-24, no new purchase date inside the lag): 1 / 50: good.
    """
    day = empty_extracts()
    day["sellers"] = [seller("S1")]
    day["orders"] = (
        [order(f"A{i}", "2026-09-20") for i in range(10)]
        + [order(f"B{i}", "2026-10-05") for i in range(10)]
        + [order(f"C{i}", "2026-10-20") for i in range(40)]
    )
    day["feedback"] = [
        feedback("A0", "2026-09-25", 1),
        feedback("A1", "2026-09-25", 2),
        feedback("B0", "2026-10-08", 1),
    ]
    load(settings, {D: day})
    build(settings, D)

    assert binom_sf(3, 60, 0.01) == pytest.approx(0.0224, abs=1e-4)
    row = outlook(settings)[("order_defect_rate", "MFN")]
    assert (row["status"], row["bad_events"], row["denominator"]) == ("poor", 3, 60)
    assert row["recovery_date"] == date(2026, 12, 3)
    assert row["bad_events_to_leave"] == 2
    assert row["projected_status_7d"] == "good"
    # The all-channel row is the same orders; AFN has none: no status, no recovery.
    assert outlook(settings)[("order_defect_rate", "all")]["recovery_date"] == date(2026, 12, 3)
    afn = outlook(settings)[("order_defect_rate", "AFN")]
    assert (afn["status"], afn["recovery_date"], afn["bad_events_to_leave"]) == ("none", None, None)


def test_a_higher_is_better_rate_recovers_through_volume(settings):
    """Valid tracking rate, MFN, 30 days of latest delivery dates, no lag; target 95 %,
    poor below 90 %.

    40 shipped orders due for delivery on 11-24, 6 never scanned: 34 / 40 = 85 %;
    P(6 or more bad | Bin(40, 5 %)) = 0.0139 < 0.05: credible, below 90 %: poor.
    R = D + i keeps 11-24 until i = 25, and gains floor(40 i / 30) well-tracked orders.
    The rate stays below 95 % (it would need 80 more), but the 6 bad events stop being
    evidence: i = 10 adds 13 (P = 0.0482 at 53 orders: still credible), i = 11 adds 14
    (P = 0.0520 at 54 orders: not): good on 2026-12-10, with no bad event leaving.
    """
    day = empty_extracts()
    day["sellers"] = [seller("S1")]
    due = date(2026, 11, 24)
    day["orders"] = [order(f"T{i}", "2026-11-17", latest_delivery_date=due) for i in range(40)]
    day["shipments"] = [
        shipment(f"T{i}", "2026-11-18", **({"first_scan_at": None} if i < 6 else {}))
        for i in range(40)
    ]
    load(settings, {D: day})
    build(settings, D)

    assert binom_sf(6, 40, 0.05) == pytest.approx(0.0139, abs=1e-4)
    assert binom_sf(6, 53, 0.05) < 0.05 <= binom_sf(6, 54, 0.05)
    row = outlook(settings)[("valid_tracking_rate", "MFN")]
    assert (row["status"], row["bad_events"], row["denominator"]) == ("poor", 6, 40)
    assert row["recovery_date"] == date(2026, 12, 10)
    assert row["bad_events_to_leave"] == 0


def test_the_7_day_projection_crosses_a_threshold_and_a_bad_day_recovers_late(settings):
    """Late shipment rate, MFN, 30 days of latest ship dates, no lag; target 4 %, poor 8 %.

    100 orders due to ship on 11-02, shipped on time; 20 due on 11-28, 5 of them not
    shipped by D (late). D: 5 / 120 = 4.2 %, P(X >= 5 | Bin(120, 4 %)) = 0.53: good, at
    low volume.
    D + 7: the window starts 11-07, so 11-02's 100 on-time orders have left; it keeps
    5 / 20 and gains floor(120 * 7 / 30) = 28 orders at D's rate, 28 * 5 / 120 = 1.17 ->
    1 late: 6 / 48 = 12.5 %, P(X >= 6 | Bin(48, 4 %)) = 0.012: credible, >= 8 %: poor.

    S2 is the slowest recovery a rate row can have: 10 orders due on 11-28, none shipped
    (10 / 10: poor). Its window keeps 11-28 until D + 29 (2026-12-28), and the 9 orders
    it gains by then are not enough (10 / 19). On 12-28 all 10 have left: good, one day
    before the horizon's end (D + 30). A rate row always recovers by its horizon's end,
    when its window holds only days after D, so recovery_date is NULL only for rows
    that need no recovery.
    """
    day = empty_extracts()
    day["sellers"] = [seller("S1"), seller("S2")]
    early, due = date(2026, 11, 2), date(2026, 11, 28)
    on_time = [order(f"E{i}", "2026-10-31", latest_ship_date=early) for i in range(100)]
    recent = [order(f"R{i}", "2026-11-26", latest_ship_date=due) for i in range(20)]
    stuck = [order(f"X{i}", "2026-11-26", seller_id="S2", latest_ship_date=due) for i in range(10)]
    day["orders"] = on_time + recent + stuck
    day["shipments"] = [shipment(f"E{i}", "2026-11-01") for i in range(100)] + [
        shipment(f"R{i}", "2026-11-27") for i in range(5, 20)
    ]
    load(settings, {D: day})
    build(settings, D)

    assert binom_sf(5, 120, 0.04) > 0.05 and binom_sf(6, 48, 0.04) < 0.05
    row = outlook(settings)[("late_shipment_rate", "MFN")]
    assert (row["status"], row["bad_events"], row["denominator"]) == ("good", 5, 120)
    assert row["projected_status_7d"] == "poor"
    assert row["recovery_date"] is None and row["bad_events_to_leave"] is None

    slow = outlook(settings, seller_id="S2")[("late_shipment_rate", "MFN")]
    assert slow["status"] == "poor" and slow["projected_status_7d"] == "poor"
    assert slow["recovery_date"] == date(2026, 12, 28)
    assert slow["bad_events_to_leave"] == 10


def test_the_28_day_change_splits_into_entering_leaving_restated_and_volume(settings):
    """Order defect rate, MFN, as of D - 28 = 11-01 (window 08-20 .. 10-18) and of D
    (window 09-17 .. 11-15). Shared: 09-17 .. 10-18; left: 08-20 .. 09-16; entered:
    10-19 .. 11-15.

    08-30: 20 orders, 2 defective (feedback 09-05)       -> leave
    10-01: 30 orders, 1 defective known on 11-01, and a second one's negative feedback
           left on 11-10                                  -> shared, restated by 1
    10-25: 50 orders, 3 defective (feedback 11-03)        -> enter

    11-01: b1 = 2 + 1 = 3 of n1 = 20 + 30 = 50: 6 %.  D: b2 = 2 + 3 = 5 of n2 = 80: 6.25 %.
    entering 3 / 80 = 3.75 pt, leaving -2 / 80 = -2.5 pt, restated 1 / 80 = 1.25 pt,
    volume -(3 / 50) * (80 - 50) / 80 = -2.25 pt; together +0.25 pt = 6.25 % - 6 %.
    """
    first = empty_extracts()
    first["sellers"] = [seller("S1")]
    first["orders"] = (
        [order(f"L{i}", "2026-08-30") for i in range(20)]
        + [order(f"M{i}", "2026-10-01") for i in range(30)]
        + [order(f"E{i}", "2026-10-25") for i in range(50)]
    )
    first["feedback"] = [
        feedback("L0", "2026-09-05", 1),
        feedback("L1", "2026-09-05", 1),
        feedback("M0", "2026-10-05", 1),
    ]
    later = empty_extracts()
    later["feedback"] = [feedback("M1", "2026-11-10", 2)] + [
        feedback(f"E{i}", "2026-11-03", 1) for i in range(3)
    ]
    quiet = empty_extracts()
    quiet["sellers"] = [seller("S1")]
    before = date(2026, 11, 1)
    load(settings, {before: first, date(2026, 11, 10): later, D: quiet})
    build(settings, before)
    build(settings, D)

    rows = outlook(settings)
    row = rows[("order_defect_rate", "MFN")]
    assert row["rate_28d_before"] == pytest.approx(0.06)
    assert row["rate"] == pytest.approx(0.0625)
    assert (row["bad_events_entering"], row["bad_events_leaving"]) == (3, 2)
    assert row["bad_events_restated"] == 1
    assert row["change_entering"] == pytest.approx(0.0375)
    assert row["change_leaving"] == pytest.approx(-0.025)
    assert row["change_restated"] == pytest.approx(0.0125)
    assert row["change_volume"] == pytest.approx(-0.0225)
    assert row["change_28d"] == pytest.approx(0.0025)

    # As of D only: more news after D changes nothing in a rebuild of D.
    news = empty_extracts()
    news["feedback"] = [feedback(f"E{i}", "2026-12-02", 1) for i in range(3, 10)]
    load(settings, {date(2026, 12, 2): news})
    build(settings, D)
    assert outlook(settings) == rows


@pytest.fixture
def peers(settings, tmp_path):
    """Late shipment rate, MFN (latest ship date 11-20; late: shipped 11-22). With the
    peer settings at 5 orders and 4 sellers for the US:

        S1 0 / 5 = 0 %, S2 0 / 5 = 0 %, S3 1 / 5 = 20 %, S4 2 / 10 = 20 %: the cohort
        S5 1 / 4 = 25 % (4 orders: not in the cohort, not ranked), U1 (UK) 5 / 5: another
        marketplace
    """
    targets = reference_with(tmp_path, "US,late_shipment_rate,0.04,LESS_THAN,0.08,2,0.05,5,4")
    day = empty_extracts()
    plan = {"S1": (5, 0), "S2": (5, 0), "S3": (5, 1), "S4": (10, 2), "S5": (4, 1), "U1": (5, 5)}
    day["sellers"] = [
        seller(s, marketplace="UK" if s == "U1" else "US", seller_name=s) for s in plan
    ]
    due = date(2026, 11, 20)
    for s, (n, late) in plan.items():
        day["orders"] += [
            order(f"{s}-{i}", "2026-11-18", seller_id=s, latest_ship_date=due) for i in range(n)
        ]
        day["shipments"] += [
            shipment(f"{s}-{i}", "2026-11-22" if i < late else "2026-11-20") for i in range(n)
        ]
    load(settings, {D: day})
    return replace(settings, reference_dir=targets.parent), targets


def test_peer_percentiles_count_ties_half_and_need_the_minimum_cohort(peers):
    settings, targets = peers
    build(settings, D)

    def peer(s: str) -> tuple:
        row = outlook(settings, seller_id=s)[("late_shipment_rate", "MFN")]
        return row["peer_percentile"], row["peer_median"], row["peer_count"]

    # S1: S3 and S4 worse, S2 tied: (2 + 0.5) / 4. S3: nobody worse, S4 tied: 0.5 / 4.
    assert peer("S1") == peer("S2") == (0.625, pytest.approx(0.1), 4)
    assert peer("S3") == peer("S4") == (0.125, pytest.approx(0.1), 4)
    # S5 has too few orders to be ranked: the cohort's median and size only.
    assert peer("S5") == (None, pytest.approx(0.1), 4)
    # The UK has a cohort of one: nothing shown.
    assert peer("U1") == (None, None, None)

    # One seller short of the minimum: no peer figure for anyone.
    targets.write_text(targets.read_text().replace(",5,4\n", ",5,5\n"))
    build(settings, D)
    assert {peer(s) for s in ("S1", "S3", "S5")} == {(None, None, None)}


def test_the_lag_days_enter_a_window_only_when_it_reaches_them(settings):
    """Order defect rate, MFN (60 days, lag 14): D's window is 09-17 .. 11-15, and the
    days after it, up to D, are the lag: known at D, in later windows only.

    10-01: 20 orders, 3 defective: 3 / 20 = 15 %; P(X >= 3 | Bin(20, 1 %)) = 0.0010: poor.
    11-25: 100 clean orders, in the lag. They enter R's window when R - 14 >= 11-25, that
    is R = 12-09 (i = 10); before that the window keeps 3 / 20, plus floor(20 * f / 60)
    new orders (f = i - 14 <= 0: none), poor. On 12-09: 3 / 120, P = 0.12: good, at low
    volume, with no defect leaving (10-01 leaves on 12-14).
    In 7 days (window 09-24 .. 11-22) the lag's orders are still outside: 3 / 20, poor.
    """
    day = empty_extracts()
    day["sellers"] = [seller("S1")]
    day["orders"] = [order(f"A{i}", "2026-10-01") for i in range(20)] + [
        order(f"L{i}", "2026-11-25") for i in range(100)
    ]
    day["feedback"] = [feedback(f"A{i}", "2026-10-04", 1) for i in range(3)]
    load(settings, {D: day})
    build(settings, D)

    assert binom_sf(3, 20, 0.01) < 0.05 <= binom_sf(3, 120, 0.01)
    row = outlook(settings)[("order_defect_rate", "MFN")]
    assert (row["status"], row["bad_events"], row["denominator"]) == ("poor", 3, 20)
    assert row["recovery_date"] == date(2026, 12, 9)
    assert row["bad_events_to_leave"] == 0
    assert row["projected_status_7d"] == "poor"


def test_a_spike_ends_by_the_spike_rule_and_a_row_without_volume_recovers(settings):
    """The order-defect spike (SPEC 3.4, `all` row): first defects in the last 7 days
    against a baseline of max(0.5, the 84 days before / 12).

    S1: 2,000 clean orders of 10-01 (rate 0 %); 13 orders of 11-20 (after the window, in
    the lag) with negative feedback: 10 on 11-23, 3 on 11-29. D: 13 recent against 0.5:
    a spike, so the row is fair. On 11-30 the recent days are 11-24 .. 11-30: 3 against
    10 / 12 = 0.83, P(Y >= 3 | Poisson(0.83)) = 0.052 >= 0.01: no spike, back on 11-30.
    S2: 4 orders of 08-01 (before the window: volume 0, status none) with negative
    feedback on 11-27: 4 against 0.5 is a spike: fair. It holds while 11-27 is in the last
    7 days (P(Y >= 4 | Poisson(0.5)) = 0.0018), so the row is back (none) on 12-04.
    """
    day = empty_extracts()
    day["sellers"] = [seller("S1"), seller("S2")]
    day["orders"] = (
        [order(f"C{i}", "2026-10-01") for i in range(2000)]
        + [order(f"X{i}", "2026-11-20") for i in range(13)]
        + [order(f"Y{i}", "2026-08-01", seller_id="S2") for i in range(4)]
    )
    day["feedback"] = (
        [feedback(f"X{i}", "2026-11-23", 1) for i in range(10)]
        + [feedback(f"X{i}", "2026-11-29", 1) for i in range(10, 13)]
        + [feedback(f"Y{i}", "2026-11-27", 1) for i in range(4)]
    )
    load(settings, {D: day})
    build(settings, D)

    assert poisson_sf(3, 10 / 12) == pytest.approx(0.052, abs=1e-3)
    assert poisson_sf(4, 0.5) < 0.01
    s1 = outlook(settings)[("order_defect_rate", "all")]
    assert (s1["status"], s1["bad_events"]) == ("fair", 0)
    assert s1["recovery_date"] == date(2026, 11, 30)
    s2 = outlook(settings, seller_id="S2")[("order_defect_rate", "all")]
    assert (s2["status"], s2["denominator"]) == ("fair", 0)
    assert s2["recovery_date"] == date(2026, 12, 4)
