"""Render and deliver: one seller's data per newsletter, escaped text, once per week."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import pytest
from pypdf import PdfReader

from pipeline.delivery.send import RetryPolicy, send_week, smtp_url_from_connection
from pipeline.errors import NotBuiltError
from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.models.snapshot import publish_snapshot
from pipeline.newsletter.context import TREND_METRICS
from pipeline.newsletter.render import TemplatesOnlyFetcher, render_pdf, render_week
from pipeline.warehouse import open_warehouse
from pipeline.weeks import IsoWeek
from tests.extracts import order, seller, write_extract
from tests.smtp import FlakyInbox, free_port, pdf_attachment, smtp_server

WEEK = IsoWeek.parse("2026-W47")  # Monday 2026-11-16 .. Sunday 2026-11-22
SUNDAY = date(2026, 11, 22)
EVIL = '<script>alert(1)</script><img src="file:///etc/passwd">'


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def week_built(settings):
    landing = settings.landing_dir
    write_extract(
        landing,
        SUNDAY,
        "sellers",
        [
            seller("S1", seller_name=f"Acme {EVIL}", email="a@example.com;ops@example.com"),
            seller("S2", seller_name="Zebra Goods"),
        ],
    )
    # S1: 1 negative feedback in 2 orders of the 60-day window -> 50.00 %.
    write_extract(
        landing,
        SUNDAY,
        "orders",
        [
            order("O1", "2026-10-01"),
            order("O2", "2026-10-01", sku="ACME-SKU-9"),
            order("Z1", "2026-10-01", seller_id="S2", sku="ZEBRA-ONLY-SKU"),
        ],
    )
    write_extract(
        landing,
        SUNDAY,
        "feedback",
        [
            {
                "order_id": "O2",
                "left_at": "2026-10-10T10:00:00Z",
                "rating": 1,
                "removed": False,
                "last_updated_at": "2026-10-10T10:00:00Z",
            }
        ],
    )
    load_day(settings, SUNDAY)
    build(settings, SUNDAY)
    publish_snapshot(settings)
    return settings


def test_render_refuses_a_week_that_is_not_built(settings):
    with open_warehouse(settings.warehouse, create=True):
        pass
    # Rendering reads the published snapshot, never the warehouse.
    with pytest.raises(NotBuiltError, match=r"analytics\.duckdb: no published snapshot there"):
        render_week(settings, WEEK)
    publish_snapshot(settings)
    with pytest.raises(NotBuiltError, match=r"run `cxn build --as-of 2026-11-22` \(it publishes\)"):
        render_week(settings, WEEK)


def test_send_uses_the_addresses_known_at_send_time(week_built):
    """The snapshot has no addresses: they come from the warehouse when the mail goes."""
    render_week(week_built, WEEK)
    with open_warehouse(week_built.warehouse) as con:
        con.execute("update raw.sellers set email = 'new@example.com' where seller_id = 'S2'")
    result = send_week(week_built, WEEK, ["S2"])
    assert result.sent == ["S2"]
    eml = next(week_built.outbox_dir.glob("*S2*.eml")).read_text()
    assert "To: new@example.com" in eml


def test_newsletter_shows_one_sellers_data_escaped(week_built):
    result = render_week(week_built, WEEK)
    assert [r.seller_id for r in result.newsletters] == ["S1", "S2"]
    html = (result.folder / "S1.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "ACME-SKU-9" in html
    assert "ZEBRA" not in html and "Zebra" not in html
    # One 13-week trend chart per headline rate of the scorecard (8), drawn as vector SVG.
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == len(TREND_METRICS) >= 8
    text = pdf_text((result.folder / "S1.pdf").read_bytes())
    assert "50.00%" in text
    assert "<script>alert(1)</script>" in text  # shown as text
    assert "Zebra" not in text


def test_rendering_twice_gives_identical_files(week_built):
    first = render_week(week_built, WEEK)
    again = render_week(week_built, WEEK)
    assert [r.pdf_sha256 for r in first.newsletters] == [r.pdf_sha256 for r in again.newsletters]


def test_pdf_fetcher_refuses_files_outside_the_templates_and_remote_urls():
    fetcher = TemplatesOnlyFetcher()
    html = (
        '<img src="file:///etc/passwd"><link rel="stylesheet" href="https://example.com/x.css">'
        '<img src="http://127.0.0.1:9/x.png">'
    )
    render_pdf(html, fetcher)
    assert sorted(fetcher.refused) == [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.png",
        "https://example.com/x.css",
    ]


def test_send_over_smtp_once_per_seller_and_week(week_built):
    render_week(week_built, WEEK)
    with smtp_server() as inbox:
        settings = replace(week_built, smtp_url=inbox.url)
        first = send_week(settings, WEEK)
        assert sorted(first.sent) == ["S1", "S2"]
        again = send_week(settings, WEEK)
        assert again.sent == [] and sorted(again.skipped) == ["S1", "S2"]
        forced = send_week(settings, WEEK, ["S2"], force=True)
        assert forced.sent == ["S2"]
    assert len(inbox.messages) == 3
    s1 = next(m for m in inbox.messages if "S1" in m["X-CXN-Newsletter"])
    assert inbox.envelopes[[m is s1 for m in inbox.messages].index(True)][1] == [
        "a@example.com",
        "ops@example.com",
    ]
    assert s1["Subject"].startswith("Customer Experience newsletter 2026-W47 – Acme")
    # The ODR (1 defect in 2 orders) is low volume, but neither MFN order was ever
    # ship-confirmed: both are late, so 0 of 2 orders are perfect, and
    # P(X <= 0 | Bin(2, 0.95)) = 0.0025 < 0.05 makes that a credible miss: critical.
    assert s1["Subject"].endswith("account critical")
    assert s1.get_body(("plain",)) is not None and s1.get_body(("html",)) is not None
    assert "50.00%" in pdf_text(pdf_attachment(s1))
    with open_warehouse(week_built.warehouse, read_only=True) as con:
        rows = con.execute(
            "select seller_id, status, attempts, recipients from ops.newsletter_outbox order by 1"
        ).fetchall()
    assert rows == [
        ("S1", "sent", 1, "a@example.com;ops@example.com"),
        ("S2", "sent", 2, "s2@example.com"),
    ]


def _outbox(settings):
    with open_warehouse(settings.warehouse, read_only=True) as con:
        return {
            r[0]: r[1:]
            for r in con.execute(
                "select seller_id, status, attempts, error from ops.newsletter_outbox"
            ).fetchall()
        }


FAST = RetryPolicy(attempts=3, backoff_seconds=0.01, breaker=3)


def test_a_down_server_trips_the_breaker_instead_of_a_retry_storm(week_built):
    render_week(week_built, WEEK)
    settings = replace(week_built, smtp_url=f"smtp://127.0.0.1:{free_port()}")  # nobody
    delays: list[float] = []
    policy = RetryPolicy(attempts=3, backoff_seconds=1.0, breaker=1)
    result = send_week(settings, WEEK, policy=policy, sleep=delays.append)
    assert sorted(result.failed) == ["S1", "S2"]
    assert delays == [1.0, 2.0]  # exponential backoff, for the first seller only
    outbox = _outbox(settings)
    assert outbox["S1"][:2] == ("failed", 3)
    assert outbox["S1"][2].startswith("ConnectionRefusedError")
    assert outbox["S2"][:2] == ("failed", 0)
    assert outbox["S2"][2].startswith("not attempted: the SMTP server was unreachable")
    # The next run retries what failed, and only that.
    with smtp_server() as inbox:
        again = send_week(replace(week_built, smtp_url=inbox.url), WEEK, policy=FAST)
    assert sorted(again.sent) == ["S1", "S2"] and len(inbox.messages) == 2
    assert _outbox(week_built)["S1"][:2] == ("sent", 4)


def test_a_4xx_reply_is_retried_with_backoff(week_built):
    render_week(week_built, WEEK)
    with smtp_server(FlakyInbox("127.0.0.1", free_port(), fail_data=2)) as inbox:
        delays: list[float] = []
        result = send_week(
            replace(week_built, smtp_url=inbox.url), WEEK, policy=FAST, sleep=delays.append
        )
    assert sorted(result.sent) == ["S1", "S2"]
    assert delays == [0.01, 0.02]  # S1 failed twice with 451, then went through
    assert _outbox(week_built)["S1"][:2] == ("sent", 3)
    assert _outbox(week_built)["S2"][:2] == ("sent", 1)
    # Retries reuse the message: the same Message-ID, so a client can deduplicate.
    assert len({m["Message-ID"] for m in inbox.messages}) == 2


def test_a_dropped_connection_is_retried_on_a_new_one(week_built):
    render_week(week_built, WEEK)
    with smtp_server(FlakyInbox("127.0.0.1", free_port(), fail_data=1, reply=None)) as inbox:
        result = send_week(replace(week_built, smtp_url=inbox.url), WEEK, policy=FAST)
    assert sorted(result.sent) == ["S1", "S2"]
    assert _outbox(week_built)["S1"][:2] == ("sent", 2)


def test_a_5xx_is_permanent_and_does_not_stop_the_others(week_built):
    render_week(week_built, WEEK)
    refuse = ("s2@example.com",)
    with smtp_server(FlakyInbox("127.0.0.1", free_port(), refuse=refuse)) as inbox:
        delays: list[float] = []
        result = send_week(
            replace(week_built, smtp_url=inbox.url), WEEK, policy=FAST, sleep=delays.append
        )
    assert result.sent == ["S1"] and list(result.failed) == ["S2"]
    assert delays == []  # no retry of a permanent failure
    status, attempts, error = _outbox(week_built)["S2"]
    assert (status, attempts) == ("failed", 1)
    assert "550" in error
    assert len(inbox.messages) == 1


def test_eml_outbox_is_the_default(week_built):
    render_week(week_built, WEEK)
    send_week(week_built, WEEK)
    assert sorted(p.name for p in week_built.outbox_dir.iterdir()) == [
        "2026-W47_S1.eml",
        "2026-W47_S2.eml",
    ]


def test_smtp_url_from_an_airflow_connection():
    assert (
        smtp_url_from_connection(
            host="mail", port=587, login="u@x", password="p:w", extra={"starttls": True}
        )
        == "smtp://u%40x:p%3Aw@mail:587?starttls=true"
    )


def test_a_process_pool_renders_the_same_files(week_built):
    single = render_week(week_built, WEEK, workers=1)
    pooled = render_week(week_built, WEEK, workers=2)
    assert [(r.seller_id, r.pdf_sha256) for r in pooled.newsletters] == [
        (r.seller_id, r.pdf_sha256) for r in single.newsletters
    ]


def test_pdf_uses_the_vendored_font_and_the_paper_size(week_built):
    from pipeline.newsletter.context import seller_context
    from pipeline.newsletter.render import Printer, render_html, template_env

    with open_warehouse(week_built.warehouse, read_only=True) as con:
        context = seller_context(con, "S2", WEEK)
    fetcher, document_fetcher = TemplatesOnlyFetcher(), TemplatesOnlyFetcher()
    pdf = Printer("A4", fetcher).pdf(
        render_html(context, template_env(), inline_css=False), document_fetcher
    )
    # The printer's stylesheet fetched the vendored fonts; the document itself fetched nothing.
    assert any(url.endswith("/fonts/DejaVuSans.ttf") for url in fetcher.fetched)
    assert any(url.endswith("/fonts/DejaVuSans-Bold.ttf") for url in fetcher.fetched)
    assert fetcher.refused == [] and document_fetcher.refused == []
    fonts = {
        str(font["/BaseFont"])
        for page in PdfReader(io.BytesIO(pdf)).pages
        for font in page["/Resources"]["/Font"].get_object().values()
        for font in [font.get_object()]
    }
    # Charts included: no text falls back to whatever fonts the machine has.
    assert {name.split("+")[-1] for name in fonts} == {"CXN-Sans", "CXN-Sans-Bold"}, fonts
    width = float(PdfReader(io.BytesIO(pdf)).pages[0].mediabox.width)
    assert round(width) == 595  # A4: 210 mm

    letter = render_week(replace(week_built, paper_size="Letter"), WEEK, ["S2"], workers=1)
    page = PdfReader(letter.newsletters[0].pdf_path).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)
