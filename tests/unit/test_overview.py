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
