"""The newsletter's content (SPEC §6) on a fixture whose numbers were worked out by hand.

As of D = 2026-11-22 (Sunday of 2026-W47). Seller S1 ships late from one SKU and one
carrier; seller S2 is healthy with one late order (low volume); the windows are
    late shipment, 30 days of latest ship dates: 2026-10-24 .. 2026-11-22
    perfect orders, 90 days of purchase dates:   2026-08-25 .. 2026-11-22
    order defects, 60 days (lag 14):             2026-09-10 .. 2026-11-08

    S1 order  SKU    line   carrier purchased (weekday)  ship by (weekday)  confirmed  late?
    O1-O3     SKU-A  Toys   UPS     11-02 (Monday)       11-04 (Wednesday)  11-06      yes
    O4        SKU-A  Toys   UPS     11-02                11-04              11-03      no
    O5        SKU-B  Toys   DHL     11-02                11-04              11-06      yes
    O6-O8     SKU-B  Toys   DHL     11-02                11-04              11-03      no
    O9        SKU-C  Books  DHL     11-05 (Thursday)     11-07 (Saturday)   11-09      yes
    O10       SKU-C  Books  DHL     11-05                11-07              11-06      no
    O11       SKU-D  Toys   -       10-01 AFN, feedback 1 star with a formula as comment

    Every shipment is scanned and delivered 2 days after confirmation, before its
    latest delivery date: valid tracking and on-time delivery are 100 %.

    Late shipment: 5 of 10 MFN orders = 50.00 %, target < 4 %, poor (≥ 8 %); credible:
        P(X ≥ 5) for X ~ Binomial(10, 0.04) = 5.9e-5 < 0.05.
      by SKU:          SKU-A 3 of 4 (60 % of 5), SKU-B 1 of 4 (20 %), SKU-C 1 of 2 (20 %)
      by carrier:      UPS 3 of 4 (60 %), DHL 2 of 6 (40 %)
      by product line: Toys 4 of 8 (80 %), Books 1 of 2 (20 %)
      by weekday of the ship-by date: Wednesday 4 of 8 (80 %), Saturday 1 of 2 (20 %)
    Perfect orders: 5 of 11 (the 5 late and O11 are not perfect) = 45.45 %, poor.
      by weekday of purchase: Monday 4 of 8, Thursday 1 of 2, Thursday 2026-10-01 1 of 1
        -> Monday 4, then Thursday 2 of 3.
    Order defects: O11 alone, 1 of 11 = 9.09 % > 1 %, but one event is never evidence:
        good, low volume.

    S2: orders P1, P2 (MFN, 11-02, SKU-Z); P1 shipped late. Late shipment 1 of 2 and perfect
    orders 1 of 2 miss their targets on one event each: good, low volume; account healthy.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from pypdf import PdfReader

from pipeline.delivery.send import build_message
from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.models.snapshot import publish_snapshot
from pipeline.newsletter.context import fmt_change
from pipeline.newsletter.render import read_manifest, render_week
from pipeline.settings import Settings
from pipeline.warehouse import open_warehouse
from pipeline.weeks import IsoWeek
from tests.extracts import (
    empty_extracts,
    feedback,
    notice,
    order,
    seller,
    shipment,
    write_day,
)

WEEK = IsoWeek.parse("2026-W47")
D = date(2026, 11, 22)
FORMULA = '=HYPERLINK("http://evil.example","click")'


def _ship(order_id: str, confirmed: str, carrier: str) -> dict[str, object]:
    day = date.fromisoformat(confirmed)
    delivered = date.fromordinal(day.toordinal() + 2).isoformat()
    return shipment(order_id, confirmed, carrier=carrier, delivered_at=f"{delivered}T12:00:00Z")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("content")
    settings = Settings(
        landing_dir=tmp / "landing", warehouse=tmp / "warehouse.duckdb", out_dir=tmp / "out"
    )
    day = empty_extracts()
    day["sellers"] = [seller("S1", seller_name="Late & Co"), seller("S2", seller_name="Calm Shop")]
    plan = [
        ("O1", "2026-11-02", "SKU-A", "Toys", "UPS", "2026-11-06"),
        ("O2", "2026-11-02", "SKU-A", "Toys", "UPS", "2026-11-06"),
        ("O3", "2026-11-02", "SKU-A", "Toys", "UPS", "2026-11-06"),
        ("O4", "2026-11-02", "SKU-A", "Toys", "UPS", "2026-11-03"),
        ("O5", "2026-11-02", "SKU-B", "Toys", "DHL", "2026-11-06"),
        ("O6", "2026-11-02", "SKU-B", "Toys", "DHL", "2026-11-03"),
        ("O7", "2026-11-02", "SKU-B", "Toys", "DHL", "2026-11-03"),
        ("O8", "2026-11-02", "SKU-B", "Toys", "DHL", "2026-11-03"),
        ("O9", "2026-11-05", "SKU-C", "Books", "DHL", "2026-11-09"),
        ("O10", "2026-11-05", "SKU-C", "Books", "DHL", "2026-11-06"),
    ]
    for oid, purchased, sku, line, carrier, confirmed in plan:
        day["orders"].append(order(oid, purchased, sku=sku, product_line=line))
        day["shipments"].append(_ship(oid, confirmed, carrier))
    day["orders"].append(
        order("O11", "2026-10-01", channel="AFN", sku="SKU-D", product_line="Toys")
    )
    day["feedback"].append(feedback("O11", "2026-10-05", 1, comment=FORMULA))
    # Two notices for S1, one read: the row must read as the one unread, not as a target.
    day["notices"] += [
        notice("N1", "S1", "2026-11-10", "high"),
        notice("N2", "S1", "2026-11-12", "high", read="2026-11-13"),
    ]
    for oid, confirmed in (("P1", "2026-11-06"), ("P2", "2026-11-03")):
        day["orders"].append(order(oid, "2026-11-02", seller_id="S2", sku="SKU-Z"))
        day["shipments"].append(_ship(oid, confirmed, "UPS"))
    write_day(settings.landing_dir, D, day)
    load_day(settings, D)
    build(settings, D)
    publish_snapshot(settings)
    result = render_week(settings, WEEK, workers=1)
    pdf_text = {
        r.seller_id: "\n".join(p.extract_text() for p in PdfReader(r.pdf_path).pages)
        for r in result.newsletters
    }
    return settings, result, pdf_text


def _drivers(settings, metric):
    with open_warehouse(settings.warehouse, read_only=True) as con:
        return con.execute(
            "select seller_id, dimension, value, rank, bad_events, population, "
            "round(share_of_bad_events, 4) from marts.metric_drivers "
            "where as_of_date = ? and metric = ? order by seller_id, dimension, rank",
            [D, metric],
        ).fetchall()


def test_drivers_name_the_skus_carriers_lines_and_weekdays_behind_late_shipments(rendered):
    settings, _, _ = rendered
    assert _drivers(settings, "late_shipment_rate") == [
        ("S1", "carrier", "UPS", 1, 3, 4, 0.6),
        ("S1", "carrier", "DHL", 2, 2, 6, 0.4),
        ("S1", "product_line", "Toys", 1, 4, 8, 0.8),
        ("S1", "product_line", "Books", 2, 1, 2, 0.2),
        ("S1", "sku", "SKU-A", 1, 3, 4, 0.6),
        ("S1", "sku", "SKU-B", 2, 1, 4, 0.2),
        ("S1", "sku", "SKU-C", 3, 1, 2, 0.2),
        ("S1", "weekday", "Wednesday", 1, 4, 8, 0.8),
        ("S1", "weekday", "Saturday", 2, 1, 2, 0.2),
    ]


def test_perfect_order_drivers_count_by_purchase_weekday_and_skip_healthy_sellers(rendered):
    settings, _, _ = rendered
    weekdays = [r for r in _drivers(settings, "perfect_order_rate") if r[1] == "weekday"]
    assert weekdays == [
        ("S1", "weekday", "Monday", 1, 4, 8, 0.6667),
        ("S1", "weekday", "Thursday", 2, 2, 3, 0.3333),
    ]
    # S2's misses are low volume: good, so nothing is explained for it.
    with open_warehouse(settings.warehouse, read_only=True) as con:
        assert con.execute(
            "select count(*) from marts.metric_drivers where seller_id = 'S2'"
        ).fetchall() == [(0,)]


def test_struggling_seller_gets_scorecard_plan_of_action_and_low_volume_notes(rendered):
    _, _, text = rendered
    s1 = " ".join(text["S1"].split())
    assert "Account status: Critical" in s1
    assert "Late shipment rate 5 of 10 orders 24 Oct – 22 Nov 2026 50.00% < 4% ✗ Poor" in s1
    assert "Plan of action" in s1
    assert "5 of 10 orders shipped late" in s1
    assert "UPS: 3 of 4 (75.0%; 60% of the total)" in s1
    assert "Wednesday: 4 of 8 (50.0%; 80% of the total)" in s1
    assert "Immediate steps" in s1 and "Long-term measures" in s1
    # Every scorecard row of the registry is there, the unit-level delivery rate too.
    assert "Unit on-time delivery rate" in s1
    assert "Unit on-time delivery rate. Units (the quantity of each order)" in s1
    # ODR: one defect is not evidence, and the note says so.
    assert "Low-volume notes" in s1
    assert "Order defect rate (60 days): 9.09%, 1 of 11, target < 1%." in s1
    # No earlier build: the change column says so instead of inventing a number.
    assert "Change since 2026-10-25" in s1
    for section in (
        "Order defect rate in detail",
        "Cancellations, late shipment and refunds",
        "Tracking and delivery",
        "Buyer messages",
        "First-contact resolution",
        "Perfect order percentage",
        "Feedback rating 0%",
        "Which orders are the problem",
        "By product line",
        "How these numbers are computed",
    ):
        assert section in s1, section


def test_healthy_seller_gets_a_short_positive_document(rendered):
    _, result, text = rendered
    s2 = " ".join(text["S2"].split())
    s1_pages = len(
        PdfReader(next(r for r in result.newsletters if r.seller_id == "S1").pdf_path).pages
    )
    s2_pages = len(
        PdfReader(next(r for r in result.newsletters if r.seller_id == "S2").pdf_path).pages
    )
    assert "Account status: Healthy" in s2
    assert "Every metric is on target" in s2
    for empty in (
        "Plan of action",
        "Which orders are the problem",
        "Unread policy notices",
    ):
        assert empty not in s2, empty
    # The ODR by window and channel, short- and long-term, for every seller (SPEC 6).
    assert "Order defect rate in detail" in s2
    assert "Short-term (30 days)" in s2 and "Long-term (90 days)" in s2
    assert "Your measures in detail" in s2
    assert "Low-volume notes" in s2  # its one late order is mentioned, not hidden
    assert s2_pages < s1_pages


def test_full_defect_list_is_attached_as_csv_with_formulas_neutralised(rendered):
    settings, result, _ = rendered
    folder = result.folder
    entry = {e["seller_id"]: e for e in read_manifest(settings, WEEK)}
    assert entry["S2"]["defective_orders_csv"] is None
    assert not (folder / "S2.defective-orders.csv").exists()
    raw = (folder / entry["S1"]["defective_orders_csv"]).read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:6] == [
        "order_id",
        "purchase_date",
        "fulfillment_channel",
        "sku",
        "product_line",
        "defects",
    ]
    assert [r[0] for r in rows[1:]] == ["O11"]
    # Shown as text by a spreadsheet, not evaluated.
    assert rows[1][7] == "'" + FORMULA

    msg = build_message(settings, entry["S1"], ["s1@example.com"], WEEK, b"%PDF-1.7 stub", 1, raw)
    attachments = {p.get_filename(): p for p in msg.iter_attachments()}
    assert set(attachments) == {
        "customer-experience-2026-W47-S1.pdf",
        "defective-orders-2026-W47-S1.csv",
    }
    assert attachments["defective-orders-2026-W47-S1.csv"].get_content_type() == "text/csv"


def test_email_summarises_the_scorecard_with_inline_styles(rendered):
    settings, _, _ = rendered
    entry = {e["seller_id"]: e for e in read_manifest(settings, WEEK)}["S1"]
    msg = build_message(settings, entry, ["s1@example.com"], WEEK, b"%PDF-1.7 stub", 1)
    assert (
        msg["Subject"] == "Customer Experience newsletter 2026-W47 – Late & Co – account critical"
    )
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert "<style" not in html and "<link" not in html  # inline styles only
    assert "Late &amp; Co" in html and "Late & Co" in text  # escaped in HTML only
    for body in (html, text):
        assert "Late shipment rate" in body and "50.00%" in body
        assert "Account status" in body
    assert 'style="' in html and "#b42318" in html  # poor in red
    late_line = next(line for line in text.splitlines() if line.startswith("Late shipment"))
    assert late_line.split() == [
        "Late",
        "shipment",
        "rate",
        "50.00%",
        "target",
        "<",
        "4%",
        "Poor",
        "–",
    ]


@pytest.mark.parametrize(
    ("now", "then", "expected"),
    [
        # lower is better: 1.20 % -> 0.90 % is 0.30 points better
        (
            dict(metric="m", rate=0.009, target_condition="LESS_THAN"),
            dict(metric="m", rate=0.012),
            ("▼ 0.30 pt", "better"),
        ),
        (
            dict(metric="m", rate=0.012, target_condition="LESS_THAN"),
            dict(metric="m", rate=0.009),
            ("▲ 0.30 pt", "worse"),
        ),
        # higher is better: 95 % -> 97.5 % is better
        (
            dict(metric="m", rate=0.975, target_condition="GREATER_THAN"),
            dict(metric="m", rate=0.95),
            ("▲ 2.50 pt", "better"),
        ),
        (
            dict(metric="m", rate=0.5, target_condition="LESS_THAN"),
            dict(metric="m", rate=0.5),
            ("±0.00 pt", "same"),
        ),
        (dict(metric="m", rate=0.5, target_condition="LESS_THAN"), None, ("–", "none")),
        (
            dict(metric="m", rate=None, target_condition="LESS_THAN"),
            dict(metric="m", rate=0.1),
            ("–", "none"),
        ),
        (
            dict(metric="policy_notices", numerator=3.0),
            dict(metric="policy_notices", numerator=1.0),
            ("+2", "worse"),
        ),
    ],
)
def test_change_since_four_weeks(now, then, expected):
    change = fmt_change(now, then)
    assert (change.text, change.direction) == expected


def test_the_words_sellers_tripped_on(rendered):
    """Issue 13: a notices row that cannot be misread, real plurals, better/worse beside
    every arrow, and the seller rating's meaning beside it."""
    settings, _, text = rendered
    s1 = " ".join(text["S1"].split())
    # The notices row: the unread count is the figure judged; issued is context.
    assert "Policy notices 2 notices issued in 180 days" in s1
    assert "1 unread all read ! Fair" in s1
    assert "1 policy notice unread" in s1  # the plan's issue, singular
    assert "areas need your attention" in s1 and "area(s)" not in s1
    assert "1 order in the headline window is defective." in s1
    assert "Seller rating: the quality of your last 365 days of orders" in s1
    assert "(s)" not in s1
    entry = {e["seller_id"]: e for e in read_manifest(settings, WEEK)}["S1"]
    msg = build_message(settings, entry, ["s1@example.com"], WEEK, b"%PDF-1.7 stub", 1)
    mail = msg.get_body(("plain",)).get_content()
    notices = next(line for line in mail.splitlines() if line.startswith("Policy notices"))
    assert "1 unread" in notices and "target all read" in notices
    assert "1 defective order in the last 60-day window" in mail
    assert "(seller rating: the quality of your last 365 days" in mail
    for line in mail.splitlines():
        if "▲" in line or "▼" in line:
            assert line.endswith(("(better)", "(worse)")), line
