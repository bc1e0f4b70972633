"""The near-empty last page check (pipeline/newsletter/render.py): how far down the last
page the text reaches, which decides whether a newsletter is laid out again compactly."""

from __future__ import annotations

import io
import os

import weasyprint
from pypdf import PdfReader

from pipeline.newsletter.render import NEAR_EMPTY, _last_page_fill, render_pdf
from pipeline.settings import TEMPLATES_DIR


def _layout(body: str):  # type: ignore[no-untyped-def]
    html = f"<html><body>{body}</body></html>"
    return weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR) + os.sep).render()


def test_one_line_on_the_last_page_is_near_empty_and_a_full_page_is_not():
    one_line = _layout('<p style="break-after: page">page one</p><p>one line</p>')
    assert len(one_line.pages) == 2
    assert 0 < _last_page_fill(one_line) < NEAR_EMPTY
    lines = "".join(f"<p>line {i}</p>" for i in range(25))
    full = _layout(f'<p style="break-after: page">page one</p>{lines}')
    assert len(full.pages) == 2 and _last_page_fill(full) > 0.3
    assert _last_page_fill(_layout("<p>a single page</p>")) == 1.0


def test_a_closing_section_spilling_a_few_lines_is_laid_out_again_on_fewer_pages():
    # The document's own <style> sets the trend cells' width, as the newsletter does: the
    # compact layout must win over it (it did not, and the trends kept three to a row).
    # Three rows of 80 mm charts leave room for a line or two of 12 px; the rest spill
    # over, and even in two columns they would: the charts must go four to a row.
    style = (
        ".trend-cell { display: inline-block; width: 33.3%; height: 80mm; }"
        " .how-item { margin: 0; font-size: 12px; line-height: 14px; }"
    )
    trends = "".join('<div class="trend-cell">chart</div>' for _ in range(8))
    how = "".join(f'<p class="how-item">Rate {i}. Short.</p>' for i in range(12))
    body = f"<div class='fit-four'>{trends}</div><div class='how'>{how}</div>"
    html = f"<html><head><style>{style}</style></head><body>{body}</body></html>"
    plain = weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR) + os.sep).render()
    assert len(plain.pages) == 2 and _last_page_fill(plain) < NEAR_EMPTY
    pdf = PdfReader(io.BytesIO(render_pdf(html)))
    assert len(pdf.pages) == 1
    assert "Rate 11" in pdf.pages[0].extract_text()
