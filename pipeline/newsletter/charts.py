"""Trend charts as inline SVG: vector graphics in the PDF, readable in greyscale print.

A chart is a small line chart of one metric over the last weeks (one point per as-of
Sunday), with the target as a dashed line and the side that misses it lightly hatched.
Shape, not colour, carries the meaning: solid line and round markers for the seller,
dashes for the target. Missing weeks (not built, or no data) leave a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 200, 100
# The newsletter's vendored font (newsletter.css), so labels print the same on every machine.
FONT = "CXN Sans, DejaVu Sans, sans-serif"
LEFT, RIGHT, TOP, BOTTOM = 38, 10, 8, 22


@dataclass(frozen=True)
class Point:
    label: str  # x-axis label, e.g. "W47"
    value: float | None  # a fraction (0.0123 = 1.23 %), None = no data


def _nice_max(value: float) -> float:
    """A round upper bound for the y axis (in percent)."""
    for step in (0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100):
        if value <= step:
            return float(step)
    return 100.0


def trend_svg(
    points: Sequence[Point],
    target: float | None = None,
    condition: str | None = None,
    title: str = "",
    chart_id: str = "chart",
) -> Markup:
    """An SVG line chart of `points` (fractions, drawn as percent) with the target.

    `chart_id` keeps the ids inside the SVG unique when several charts share a page.
    """
    pattern = f"miss-{escape(chart_id)}"
    values = [p.value * 100 for p in points if p.value is not None]
    target_pct = target * 100 if target is not None else None
    if condition == "GREATER_THAN" and target_pct is not None:
        # Higher is better: show the band from the lowest value (or target - 10) to 100.
        low = min([*values, target_pct - 10.0])
        y_min, y_max = max(0.0, (low // 5) * 5), 100.0
    else:
        y_min = 0.0
        y_max = _nice_max(max([*values, (target_pct or 0) * 2, 0.5]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(points), 2)

    def x(i: int) -> float:
        return LEFT + plot_w * i / (n - 1)

    def y(v: float) -> float:
        v = min(max(v, y_min), y_max)
        return TOP + plot_h * (1 - (v - y_min) / (y_max - y_min))

    # Few elements, shared attributes on the root: every SVG node costs WeasyPrint a style
    # cascade and a draw, and charts are most of a newsletter's nodes.
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" class="trend" font-family="{FONT}" font-size="9" '
        f'fill="#333" role="img" aria-label="{escape(title)}">',
    ]
    if target_pct is not None:
        ty = y(target_pct)
        miss_top, miss_bottom = (TOP, ty) if condition != "GREATER_THAN" else (ty, TOP + plot_h)
        parts.append(
            f'<defs><pattern id="{pattern}" width="4" height="4" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><path d="M0,0V4" stroke="#bbb"/></pattern></defs>'
            f'<rect x="{LEFT}" y="{miss_top:.1f}" width="{plot_w}" '
            f'height="{max(0.0, miss_bottom - miss_top):.1f}" fill="url(#{pattern})" '
            'opacity="0.6"/>'
        )
    # The x axis; the target, dashed.
    parts.append(f'<path d="M{LEFT},{TOP + plot_h}h{plot_w}" stroke="#555" stroke-width="0.8"/>')
    if target_pct is not None:
        parts.append(
            f'<path d="M{LEFT},{y(target_pct):.1f}h{plot_w}" stroke="#000" '
            'stroke-dasharray="4 3" class="target"/>'
        )
    # The series: one subpath per connected run of known values, then the markers.
    runs: list[list[str]] = [[]]
    for i, p in enumerate(points):
        if p.value is None:
            runs.append([])
        else:
            runs[-1].append(f"{x(i):.1f},{y(p.value * 100):.1f}")
    line = "".join("M" + "L".join(r) for r in runs if r)
    if line:
        parts.append(f'<path d="{line}" fill="none" stroke="#1f3b63" stroke-width="1.6"/>')
    markers = "".join(
        f"M{x(i) - 2:.1f},{y(p.value * 100):.1f}a2,2 0 1,0 4,0a2,2 0 1,0 -4,0"
        for i, p in enumerate(points)
        if p.value is not None
    )
    if markers:
        parts.append(f'<path d="{markers}" fill="#1f3b63" class="markers"/>')
    # y labels: bottom, middle and top; x labels: first, middle and last week.
    for v in (y_min, (y_min + y_max) / 2, y_max):
        parts.append(f'<text x="{LEFT - 3}" y="{y(v) + 3.5:.1f}" text-anchor="end">{v:g}%</text>')
    for i in sorted({0, len(points) // 2, len(points) - 1}):
        if 0 <= i < len(points):
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - 5}" text-anchor="middle">'
                f"{escape(points[i].label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
