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

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" class="trend" role="img" '
        f'aria-label="{escape(title)}">',
        f'<defs><pattern id="{pattern}" width="4" height="4" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="4" '
        'stroke="#bbb" stroke-width="1"/></pattern></defs>',
    ]
    if target_pct is not None:
        ty = y(target_pct)
        miss_top, miss_bottom = (TOP, ty) if condition != "GREATER_THAN" else (ty, TOP + plot_h)
        parts.append(
            f'<rect x="{LEFT}" y="{miss_top:.1f}" width="{plot_w}" '
            f'height="{max(0.0, miss_bottom - miss_top):.1f}" fill="url(#{pattern})" '
            'opacity="0.6"/>'
        )
    # Axes and y labels.
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#555" stroke-width="0.8"/>'
    )
    for v in (y_min, (y_min + y_max) / 2, y_max):
        parts.append(
            f'<text x="{LEFT - 3}" y="{y(v) + 3.5:.1f}" font-size="9" text-anchor="end" '
            f'fill="#333">{v:g}%</text>'
        )
    if target_pct is not None:
        parts.append(
            f'<line x1="{LEFT}" y1="{y(target_pct):.1f}" x2="{LEFT + plot_w}" '
            f'y2="{y(target_pct):.1f}" stroke="#000" stroke-width="1" stroke-dasharray="4 3"/>'
        )
    # The series: connected runs of known values, with markers.
    run: list[str] = []
    runs: list[list[str]] = []
    for i, p in enumerate(points):
        if p.value is None:
            if run:
                runs.append(run)
            run = []
            continue
        run.append(f"{x(i):.1f},{y(p.value * 100):.1f}")
    if run:
        runs.append(run)
    for r in runs:
        parts.append(
            f'<polyline points="{" ".join(r)}" fill="none" stroke="#1f3b63" stroke-width="1.6"/>'
        )
    for i, p in enumerate(points):
        if p.value is not None:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(p.value * 100):.1f}" r="2" fill="#1f3b63"/>'
            )
    # x labels: first, middle and last week.
    for i in sorted({0, len(points) // 2, len(points) - 1}):
        if 0 <= i < len(points):
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - 5}" font-size="9" text-anchor="middle" '
                f'fill="#333">{escape(points[i].label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
