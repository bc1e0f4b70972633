"""Trend charts: vector SVG, gaps for missing weeks, the target drawn."""

from __future__ import annotations

import re

from pipeline.newsletter.charts import Point, trend_svg


def test_chart_draws_runs_markers_and_target():
    points = [Point("W01", 0.01), Point("W02", 0.02), Point("W03", None), Point("W04", 0.03)]
    svg = str(trend_svg(points, target=0.01, condition="LESS_THAN", title="ODR"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    # A missing week breaks the line: two runs (subpaths), three markers (circles of arcs).
    line = re.search(r'<path d="([^"]*)" fill="none" stroke="#1f3b63"', svg)
    assert line is not None and line.group(1).count("M") == 2
    markers = re.search(r'<path d="([^"]*)" fill="#1f3b63" class="markers"', svg)
    assert markers is not None and markers.group(1).count("M") == 3
    assert 'stroke-dasharray="4 3"' in svg  # the target line
    assert ">W01<" in svg and ">W04<" in svg


def test_higher_is_better_hatches_below_the_target():
    svg = str(trend_svg([Point("W01", 0.97), Point("W02", 0.99)], 0.95, "GREATER_THAN"))
    rect = re.search(r'<rect x="\d+" y="([\d.]+)" width="\d+" height="([\d.]+)"', svg)
    assert rect is not None
    top = float(rect.group(1))
    target_y = float(re.search(r'd="M\d+,([\d.]+)h\d+"[^>]*stroke-dasharray', svg).group(1))
    assert top == target_y  # the hatched band starts at the target and goes down


def test_labels_are_escaped():
    svg = str(trend_svg([Point("<b>", 0.5)], title='"><script>'))
    assert "<script>" not in svg and "<b>" not in svg
