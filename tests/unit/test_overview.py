"""The operator's weekly overview (SPEC §6): sellers by status and their movement, the
sellers newly at risk or critical and why, the metrics behind most problems, the week's
deliveries; rendered to HTML and PDF and emailed once to CXN_OPERATOR_EMAIL.

The marketplace (hand-computed, as tests/sql/test_seller_changes.py): S1 ships 10 orders
on time by 2026-11-15 and 10 late by 2026-11-22 (late shipments 50 %: poor; perfect
orders 50 %: poor), so it goes from healthy to critical; S2 has no orders and stays
healthy. Week 2026-W47 ends on 2026-11-22.
"""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import date

import duckdb
from pypdf import PdfReader

from pipeline.delivery.send import EmlOutbox, send_overview
from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.models.snapshot import publish_snapshot
from pipeline.newsletter.overview import overview_context
from pipeline.newsletter.render import render_overview
from pipeline.weeks import IsoWeek
from tests.extracts import empty_extracts, order, seller, shipment, write_day

WEEK = IsoWeek.parse("2026-W47")


def test_the_overview_shows_the_marketplace_and_is_emailed_once(settings):
    first = empty_extracts()
    first["sellers"] = [seller("S1", seller_name="Late & Co"), seller("S2")]
    first["orders"] = [order(f"O{i}", "2026-11-10") for i in range(1, 11)]
    first["shipments"] = [shipment(f"O{i}", "2026-11-11") for i in range(1, 11)]
    later = empty_extracts()
    later["orders"] = [order(f"L{i}", "2026-11-18") for i in range(1, 11)]
    later["shipments"] = [shipment(f"L{i}", "2026-11-21") for i in range(1, 11)]
    quiet = empty_extracts()
    quiet["sellers"] = [seller("S1", seller_name="Late & Co"), seller("S2")]
    for n in range(15, 23):
        day = date(2026, 11, n)
        write_day(settings.landing_dir, day, {15: first, 22: later}.get(n, quiet))
        load_day(settings, day)
    build(settings, date(2026, 11, 15))
    build(settings, date(2026, 11, 22))
    publish_snapshot(settings)

    html_path, pdf_path = render_overview(settings, WEEK)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf_path).pages).split())
    assert "Healthy 1 2 -1" in text and "Critical 1 0 +1" in text
    assert "healthy → critical: 1 seller" in text
    assert (
        "S1 Late & Co Healthy Critical Late shipment rate (MFN), Perfect order percentage" in text
    )
    assert "Late shipment rate (MFN) 1 1" in text  # 1 seller at fair or poor, 1 poor
    assert "waiting 2" in text  # no newsletter sent yet
    # Out of critical if nothing new goes wrong (marts.metric_outlook, by hand): the late
    # shipments of 11-20 leave the 30-day window on 12-20 (gaining floor(20 * 27 / 30) = 18
    # on-time orders by then is not enough: 10 of 28 late). The 10 imperfect orders of 11-18
    # leave the 90-day window on D + 86 = 2027-02-16; until then at most 18 new orders
    # join them (10 of 28 imperfect: poor). So out of critical, and on target, on 02-16.
    assert "S1 Late & Co 2027-02-16 2027-02-16" in text
    assert "No seller is heading for critical within 7 days" in text
    # The problem's last 8 Sundays: only 11-15 (on target: 0) and 11-22 (1) were built.
    with duckdb.connect(str(settings.analytics_path), read_only=True) as con:
        [late, *_] = overview_context(con, WEEK).problems
    assert late.label == "Late shipment rate (MFN)"
    assert late.weekly == [None] * 6 + [0, 1]
    assert (
        late.chart.count("<circle") == 6
        and late.chart.count("<rect") == 1
        and 'fill="#0b2545"' in late.chart
    )
    assert "Late &amp; Co" in html_path.read_text()  # escaped

    outbox = settings.out_dir / "outbox"
    assert "not emailed" in send_overview(settings, WEEK, html_path, pdf_path)
    ops = replace(settings, operator_email="ops@example.com")
    sent = send_overview(ops, WEEK, html_path, pdf_path, transport=EmlOutbox(outbox))
    assert sent == "emailed to ops@example.com"
    again = send_overview(ops, WEEK, html_path, pdf_path, transport=EmlOutbox(outbox))
    assert again.startswith("already emailed")
    [eml] = outbox.glob("*.eml")
    assert eml.name == "2026-W47+overview.eml"
    msg = email.message_from_bytes(eml.read_bytes())
    assert msg["To"] == "ops@example.com" and msg["Subject"] == "Marketplace overview 2026-W47"
    kinds = [part.get_content_type() for part in msg.walk()]
    assert "application/pdf" in kinds and "text/html" in kinds


def test_the_overview_names_the_sellers_heading_for_critical(settings):
    """As tests/sql/test_metric_outlook.py's projection: S1 is healthy on 2026-11-29 with
    5 late of 120 (low volume), but in 7 days 11-02's 100 on-time orders have left and 28
    new ones at its rate bring 1 more late: 6 of 48, poor."""
    day = empty_extracts()
    day["sellers"] = [seller("S1", seller_name="Soon Late")]
    early, due = date(2026, 11, 2), date(2026, 11, 28)
    day["orders"] = [order(f"E{i}", "2026-10-31", latest_ship_date=early) for i in range(100)]
    day["orders"] += [order(f"R{i}", "2026-11-26", latest_ship_date=due) for i in range(20)]
    day["shipments"] = [shipment(f"E{i}", "2026-11-01") for i in range(100)]
    day["shipments"] += [shipment(f"R{i}", "2026-11-27") for i in range(5, 20)]
    write_day(settings.landing_dir, date(2026, 11, 29), day)
    load_day(settings, date(2026, 11, 29))
    build(settings, date(2026, 11, 29))
    publish_snapshot(settings)
    _, pdf_path = render_overview(settings, IsoWeek.parse("2026-W48"))
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf_path).pages).split())
    assert "S1 Soon Late Healthy Late shipment rate (MFN): good → poor" in text
    assert "When the critical sellers recover" not in text  # nobody is critical
