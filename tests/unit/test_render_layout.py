"""The near-empty last page check (pipeline/newsletter/render.py): how far down the last
page the text reaches, which decides whether a newsletter is laid out again compactly."""

from __future__ import annotations

import os

import weasyprint

from pipeline.newsletter.render import NEAR_EMPTY, _last_page_fill
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
