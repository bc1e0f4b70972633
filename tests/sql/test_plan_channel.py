"""The order-defect plan of action explains the worst channel, the one marts.metric_drivers
explains (found in review: the plan showed the all-channel row while its drivers were MFN's).

As of 2026-11-22 (ODR window 2026-09-10 .. 2026-11-08), seller S1 has
    2,000 MFN orders, 45 with a 1-star feedback: 2.25 % >= 2 % poor
        (credible: P(X >= 45) for X ~ Binomial(2000, 0.01), mean 20, is about 1e-6)
    1,000 AFN orders, none defective
    all channels: 45 of 3,000 = 1.50 %, fair (P(X >= 45) for Binomial(3000, 0.01),
        mean 30, is about 0.006 < 0.05)
"""

from __future__ import annotations

from datetime import date

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.newsletter.context import seller_context
from pipeline.warehouse import open_warehouse
from pipeline.weeks import IsoWeek
from tests.extracts import empty_extracts, feedback, order, seller, write_day

D = date(2026, 11, 22)


def test_plan_takes_the_poor_mfn_row_over_the_fair_all_row(settings):
    day = empty_extracts()
    day["sellers"] = [seller("S1")]
    for i in range(2000):
        day["orders"].append(order(f"M{i}", "2026-10-01", sku=f"MSKU-{i % 4}"))
    for i in range(1000):
        day["orders"].append(order(f"A{i}", "2026-10-01", channel="AFN", sku="ASKU"))
    day["feedback"] = [feedback(f"M{i}", "2026-10-05", 1) for i in range(45)]
    write_day(settings.landing_dir, D, day)
    load_day(settings, D)
    build(settings, D)
    with open_warehouse(settings.warehouse, read_only=True) as con:
        statuses = dict(
            con.execute(
                "select channel, status from marts.seller_metrics where metric = "
                "'order_defect_rate' and window_days = 60 and as_of_date = ?",
                [D],
            ).fetchall()
        )
        context = seller_context(con, "S1", IsoWeek.parse("2026-W47"))
    assert statuses == {"all": "fair", "MFN": "poor", "AFN": "good"}
    [plan] = [p for p in context.plans if p.metric == "order_defect_rate"]
    assert (plan.label, plan.status) == ("Order defect rate, seller-fulfilled", "poor")
    assert "2.25% (45 of 2,000 orders defective)" in plan.issue
    skus = next(d for d in plan.drivers if d.label == "SKUs").values
    assert all(v.startswith("MSKU-") for v in skus)  # MFN orders explain it, not ASKU


def test_advice_fits_the_channel_and_the_perfect_order_plan_names_its_cause(settings):
    """Issue 13: defects of marketplace-fulfilled orders are not blamed on carriers, a
    shipping step is not given for them, and the perfect-order plan names its leading
    cause.

    As of 2026-11-22, S1's 100 AFN orders of 2026-10-01, shipped by the marketplace with
    UPS: 10 have a 1-star feedback (10 %: AFN and all-channel ODR poor), and 30 a buyer
    message (perfect: 60 of 100 = 60 %, poor). Causes among the 40 imperfect orders:
    buyer message 30, negative feedback 10.
    """
    from tests.extracts import message, shipment

    day = empty_extracts()
    day["sellers"] = [seller("S1")]
    for i in range(100):
        day["orders"].append(order(f"A{i}", "2026-10-01", channel="AFN", sku="ASKU"))
        day["shipments"].append(shipment(f"A{i}", "2026-10-02", carrier="UPS"))
    day["feedback"] = [feedback(f"A{i}", "2026-10-05", 1) for i in range(10)]
    day["messages"] = [
        message(f"MSG{i}", "2026-10-03T10:00:00Z", "2026-10-03T11:00:00Z", order_id=f"A{90 - i}")
        for i in range(30)
    ]
    write_day(settings.landing_dir, D, day)
    load_day(settings, D)
    build(settings, D)
    with open_warehouse(settings.warehouse, read_only=True) as con:
        context = seller_context(con, "S1", IsoWeek.parse("2026-W47"))
    plans = {p.metric: p for p in context.plans}
    odr = plans["order_defect_rate"]
    assert all(d.label != "Carriers" for d in odr.drivers)  # the marketplace shipped them
    assert not any("Ship seller-fulfilled orders" in s for s in odr.now + odr.later)
    perfect = plans["perfect_order_rate"]
    causes = next(d for d in perfect.drivers if d.label == "Causes").values
    assert causes[0].startswith("buyer message: 30 of 100")
    assert causes[1].startswith("negative feedback: 10 of 100")
    assert "Start with buyer message: the problem most of these orders share" in perfect.now[0]
