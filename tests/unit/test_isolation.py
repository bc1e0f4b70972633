"""A seller's newsletter carries that seller's data only (SPEC 6): nothing of seller B,
however distinctive, appears in seller A's HTML, PDF text or email."""

from __future__ import annotations

import email
import email.policy
import io
from datetime import date

from pypdf import PdfReader

from pipeline.delivery.send import send_week
from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.models.snapshot import publish_snapshot
from pipeline.newsletter.render import render_week
from pipeline.weeks import IsoWeek
from tests.extracts import feedback, notice, order, seller, write_extract

WEEK = IsoWeek.parse("2026-W47")
SUNDAY = date(2026, 11, 22)
B_STRINGS = ["Zanzibar Quokka Outfitters", "QUOKKA-SKU-4242", "Quokkaware", "quokka was bitten"]


def test_seller_a_sees_nothing_of_seller_b(settings):
    landing = settings.landing_dir
    write_extract(
        landing,
        SUNDAY,
        "sellers",
        [seller("A1", seller_name="Plain Shop"), seller("B1", seller_name=B_STRINGS[0])],
    )
    write_extract(
        landing,
        SUNDAY,
        "orders",
        [
            order("A-1", "2026-10-01", seller_id="A1", channel="AFN"),
            order("A-2", "2026-10-01", seller_id="A1", channel="AFN"),
            order(
                "B-1",
                "2026-10-01",
                seller_id="B1",
                channel="AFN",
                sku=B_STRINGS[1],
                product_line=B_STRINGS[2],
            ),
        ],
    )
    write_extract(
        landing,
        SUNDAY,
        "feedback",
        [
            feedback("A-1", "2026-10-05", 1),
            feedback("B-1", "2026-10-05", 1, comment=B_STRINGS[3]),
        ],
    )
    write_extract(landing, SUNDAY, "notices", [notice("NB", "B1", "2026-11-01", "critical")])
    load_day(settings, SUNDAY)
    build(settings, SUNDAY)
    publish_snapshot(settings)
    result = render_week(settings, WEEK, workers=1)
    folder = result.folder

    # B's own newsletter does show B's strings: the check below is not vacuous.
    b_html = (folder / "B1.html").read_text()
    assert B_STRINGS[1] in b_html and B_STRINGS[0] in b_html

    a_html = (folder / "A1.html").read_text()
    a_pdf = (folder / "A1.pdf").read_bytes()
    a_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(a_pdf)).pages)
    assert send_week(settings, WEEK).sent == ["A1", "B1"]
    message = email.message_from_bytes(
        (settings.outbox_dir / f"{WEEK}_A1.eml").read_bytes(), policy=email.policy.default
    )
    # What the recipient reads: headers and decoded bodies (not base64 of the PDF).
    mail = "\n".join(
        [str(message["Subject"]), str(message["To"])]
        + [message.get_body((kind,)).get_content() for kind in ("plain", "html")]
    )
    for text, where in ((a_html, "HTML"), (a_text, "PDF"), (mail, "email")):
        leaked = [s for s in [*B_STRINGS, "B1", "B-1", "Notice NB"] if s in text]
        assert not leaked, f"seller B's data in seller A's {where}: {leaked}"
    assert "A-1" in a_html  # A's own defective order is there
