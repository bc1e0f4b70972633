"""The outlook in the newsletter and its email (SPEC §3.6, §6), and what it must not
reveal: no peer figure below the minimum cohort, no other seller's own rate.

As of D = 2026-11-22 (Sunday of 2026-W47). Five US sellers ship orders due on 11-20; a
late one ships on 11-22. Late shipment rate, 30 days of latest ship dates, target < 4 %,
poor at 8 %. The peer settings for the US are 5 orders and 4 sellers.

    S1 0 / 5 = 0 %       S2 1 / 8 = 12.50 %     S3 3 / 8 = 37.50 %     S4 2 / 5 = 40 %
    S5 1 / 3 = 33.33 % (3 orders: not in the cohort)

Cohort S1..S4: median (12.50 + 37.50) / 2 = 25.00 %, equal to no seller's rate.
S1: the 3 others are worse: better than 3 / 4 = 75 %.
S4: P(X >= 2 | Bin(5, 4 %)) = 0.0147 < 0.05 and 40 % >= 8 %: poor. Its window keeps 11-20
until 11-20 leaves on D + 28 = 2026-12-20; by then it gains floor(5 * 27 / 30) = 4 orders at
most, and 2 of 9 is still credible (P = 0.048): back on target on 20 Dec, 2 late shipments
leaving the 30-day window.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from pypdf import PdfReader

from pipeline.delivery.send import build_message
from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.models.snapshot import publish_snapshot
from pipeline.newsletter.render import read_manifest, render_week
from pipeline.weeks import IsoWeek
from tests.extracts import empty_extracts, order, reference_with, seller, shipment, write_day

D = date(2026, 11, 22)
WEEK = IsoWeek.parse("2026-W47")
PLAN = {"S1": (5, 0), "S2": (8, 1), "S3": (8, 3), "S4": (5, 2), "S5": (3, 1)}
OTHERS_RATES = ("12.50%", "37.50%", "40.00%", "33.33%")


@pytest.fixture
def marketplace(settings, tmp_path):
    targets = reference_with(tmp_path, "US,late_shipment_rate,0.04,LESS_THAN,0.08,2,0.05,5,4")
    day = empty_extracts()
    day["sellers"] = [seller(s, seller_name=f"Shop {s}") for s in PLAN]
    for s, (n, late) in PLAN.items():
        day["orders"] += [
            order(f"{s}-{i}", "2026-11-18", seller_id=s, latest_ship_date=date(2026, 11, 20))
            for i in range(n)
        ]
        day["shipments"] += [
            shipment(f"{s}-{i}", "2026-11-22" if i < late else "2026-11-20") for i in range(n)
        ]
    write_day(settings.landing_dir, D, day)
    load_day(settings, D)
    return replace(settings, reference_dir=targets.parent), targets


def _newsletters(settings) -> dict[str, str]:
    build(settings, D)
    publish_snapshot(settings)
    result = render_week(settings, WEEK, workers=1)
    return {
        r.seller_id: r.html_path.read_text()
        + "\n".join(p.extract_text() for p in PdfReader(r.pdf_path).pages)
        for r in result.newsletters
    }


def test_the_outlook_is_told_in_words_in_the_pdf_and_the_email(marketplace):
    settings, _ = marketplace
    pages = _newsletters(settings)
    s1, s4 = (" ".join(pages[s].split()) for s in ("S1", "S4"))
    assert "better than 75% of US sellers (median 25.00%)" in s1
    assert (
        "Back on target on 20 Dec if nothing new goes wrong "
        "(2 late shipments must leave the 30-day window)." in s4
    )
    # A healthy seller whose status will not change is told no projection.
    assert "Heading for" not in s1 and "What comes next" not in s1
    entry = {e["seller_id"]: e for e in read_manifest(settings, WEEK)}["S4"]
    msg = build_message(settings, entry, ["s4@example.com"], WEEK, b"%PDF-1.7 stub", 1)
    for body in (msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()):
        assert "Back on target on 20 Dec if nothing new goes wrong" in " ".join(body.split())


def test_a_newsletter_reveals_no_other_sellers_rate_and_no_peers_below_the_minimum(
    marketplace,
):
    settings, targets = marketplace
    pages = _newsletters(settings)
    s1 = pages["S1"]
    for other in ("S2", "S3", "S4", "S5"):
        assert f"Shop {other}" not in s1 and f"{other}-" not in s1
    for rate in OTHERS_RATES:
        assert rate not in s1, rate
    # S5 is outside the cohort: not ranked, so no peer line at all.
    assert "US sellers" not in pages["S5"]

    # One seller short of the minimum cohort: no peer figure in anyone's newsletter.
    targets.write_text(targets.read_text().replace(",5,4\n", ",5,5\n"))
    pages = _newsletters(settings)
    assert not [s for s, text in pages.items() if "US sellers" in text or "median" in text]


def test_the_change_in_words():
    """fmt_moved on rows of marts.metric_outlook written by hand."""
    from pipeline.models import registry
    from pipeline.newsletter.context import fmt_moved

    late = registry.metric("late_shipment_rate")
    row = {
        "change_28d": 0.0025,
        "change_entering": 0.0375,
        "bad_events_entering": 3,
        "bad_events_leaving": 2,
        "bad_events_restated": -1,
        "denominator_28d_before": 50,
        "denominator": 80,
    }
    assert fmt_moved(late, row) == (
        "+0.25 pt: 3 new late shipments, 2 aged out, 1 fewer on days already in the window, "
        "60% more orders"
    )
    still = {**row, "change_28d": 0.0, "bad_events_entering": 0, "bad_events_leaving": 0}
    still |= {"bad_events_restated": 0, "denominator": 50}
    assert fmt_moved(late, still) == "±0.00 pt: nothing new, nothing aged out"
    assert fmt_moved(late, {**row, "change_entering": None}) == "+0.25 pt"  # D - 28 unsplit
    assert fmt_moved(late, {**row, "change_28d": None}) == ""  # D - 28 not built
