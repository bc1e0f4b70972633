"""The operator's weekly overview of the whole marketplace (SPEC §6, Operator overview).

Read from the analysts' snapshot as of the week's Sunday: sellers by account status and
how that moved since the week before, the sellers newly at risk or critical and why, the
metrics behind most problems, and the week's delivery results. Rendered to HTML and PDF
with the newsletter's template stack (`render_overview`), emailed to `CXN_OPERATOR_EMAIL`
when it is set (`pipeline.delivery.send.send_overview`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipeline.errors import NotBuiltError
from pipeline.models import registry
from pipeline.newsletter.context import ACCOUNT_LABELS, plural
from pipeline.settings import Settings
from pipeline.weeks import IsoWeek

STATUSES = ("healthy", "at_risk", "critical")
RANK = {"healthy": 0, "at_risk": 1, "critical": 2}
STATUS_COLOURS = {"healthy": "#1e7b34", "at_risk": "#b7791f", "critical": "#b42318"}
NEWLY_SHOWN = 25


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    now: int
    week_before: int | None
    change: str  # "+3", "−2", "±0", "–" (the week before was not built)


@dataclass(frozen=True)
class Newly:
    seller_id: str
    seller_name: str
    was: str
    now: str
    reasons: str  # "Late shipment rate (MFN), Perfect order percentage"


TREND_WEEKS = 8


@dataclass(frozen=True)
class Heading:
    """A seller not critical today with a row heading for poor within 7 days."""

    seller_id: str
    seller_name: str
    now: str
    reasons: str  # "Late shipment rate (MFN): Fair -> Poor"


@dataclass(frozen=True)
class Recovering:
    """A critical seller and when it is out of critical if nothing new goes wrong."""

    seller_id: str
    seller_name: str
    out_of_critical: str  # the last recovery date of its poor rows
    on_target: str  # the last recovery date of its rows at fair or poor
    reasons: str


@dataclass(frozen=True)
class Problem:
    label: str
    sellers: int
    poor: int
    weekly: list[int | None]  # sellers at fair or poor on each of the last 8 Sundays
    chart: str = ""  # those counts as bars (None: that Sunday was not built)


@dataclass(frozen=True)
class Overview:
    week: str
    as_of: str
    week_before: str
    sellers: int
    statuses: list[StatusCount]
    movement: list[str]  # "healthy → at risk: 3 sellers"
    newly: list[Newly]
    newly_total: int
    problems: list[Problem]
    deliveries: list[tuple[str, int]]  # (sent | failed | sending | waiting, sellers)
    heading: list[Heading]  # heading for critical within 7 days
    recovering: list[Recovering]  # the critical sellers' recovery dates
    in_7_days: str
    chart: str  # an SVG of sellers by status, this week and the week before

    def template_values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _reason(code_channel: str) -> str:
    code, _, channel = code_channel.partition("/")
    try:
        label = registry.metric(code).label
    except KeyError:
        label = code
    return label if channel == "all" else f"{label} ({channel})"


def _status_chart(counts: list[StatusCount]) -> str:
    """Horizontal bars: each status this week (solid) and the week before (outline)."""
    width, bar, gap, left = 360, 12, 10, 70
    most = max([c.now for c in counts] + [c.week_before or 0 for c in counts] + [1])
    scale = (width - left - 40) / most
    rows = []
    for i, c in enumerate(counts):
        y = 8 + i * (2 * bar + gap)
        colour = STATUS_COLOURS[c.status]
        rows.append(
            f'<text x="0" y="{y + bar}" font-size="9">{c.label}</text>'
            f'<rect x="{left}" y="{y}" width="{c.now * scale:.1f}" height="{bar}" '
            f'fill="{colour}"/>'
            f'<text x="{left + c.now * scale + 3:.1f}" y="{y + bar - 2}" font-size="8">{c.now}'
            "</text>"
        )
        if c.week_before is not None:
            rows.append(
                f'<rect x="{left}" y="{y + bar + 1}" width="{c.week_before * scale:.1f}" '
                f'height="{bar - 4}" fill="none" stroke="{colour}" stroke-width="1"/>'
            )
    height = 8 + len(counts) * (2 * bar + gap)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="CXN Sans, DejaVu Sans, sans-serif" '
        'role="img" aria-label="Sellers by account status: this week solid, the week before '
        f'outlined">{"".join(rows)}</svg>'
    )


def _weekly_bars(weekly: list[int | None], most: int) -> str:
    """Small bars on a baseline, one per Sunday, on a scale shared by every row; a grey
    dot where that Sunday was not built; this week's bar dark."""
    width, height, step, bar = 120, 24, 15, 10
    parts = [
        f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" '
        'stroke="#8a9bb5" stroke-width="0.6"/>'
    ]
    for i, n in enumerate(weekly):
        x = i * step + 2
        if n is None:
            parts.append(f'<circle cx="{x + bar / 2}" cy="{height - 4}" r="1.3" fill="#9aa5b1"/>')
        elif n:
            h = (height - 2) * n / max(most, 1)
            colour = "#0b2545" if i == len(weekly) - 1 else "#8a9bb5"
            parts.append(
                f'<rect x="{x}" y="{height - h:.1f}" width="{bar}" height="{h:.1f}" '
                f'fill="{colour}"/>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 1}" '
        f'viewBox="0 0 {width} {height + 1}" role="img" aria-label="Sellers at fair or poor '
        f'on each of the last {len(weekly)} Sundays">{"".join(parts)}</svg>'
    )


def _problem_weeks(
    con: duckdb.DuckDBPyConnection, as_of: Any
) -> tuple[list[Any], dict[tuple[str, str], dict[Any, int]], set[Any]]:
    """The last TREND_WEEKS Sundays, the sellers at fair or poor per headline row on each,
    and which of those Sundays were built."""
    sundays = [as_of - timedelta(days=7 * k) for k in range(TREND_WEEKS - 1, -1, -1)]
    built = {
        d
        for (d,) in con.execute(
            "select distinct as_of_date from marts.seller_scorecard "
            "where as_of_date in (select unnest(?::date[]))",
            [sundays],
        ).fetchall()
    }
    counts: dict[tuple[str, str], dict[Any, int]] = {}
    for metric, channel, day, n in con.execute(
        "select metric, channel, as_of_date, count(*) from marts.seller_metrics "
        "where as_of_date in (select unnest(?::date[])) and is_headline "
        "and status in ('fair', 'poor') group by all",
        [sundays],
    ).fetchall():
        counts.setdefault((metric, channel), {})[day] = int(n)
    return sundays, counts, built


def overview_context(
    con: duckdb.DuckDBPyConnection, week: IsoWeek, deliveries_con: Any = None
) -> Overview:
    """The overview as of the week's Sunday, from the snapshot (marketplace-wide rows)."""
    as_of = week.as_of
    before = as_of - timedelta(days=7)
    rows = con.execute(
        "select seller_id, seller_name, account_status, failing_metrics "
        "from marts.seller_scorecard where as_of_date = ? order by seller_id",
        [as_of],
    ).fetchall()
    if not rows:
        raise NotBuiltError(f"nothing built as of {as_of}; run `cxn build --as-of {as_of}`")
    was = dict(
        con.execute(
            "select seller_id, account_status from marts.seller_scorecard where as_of_date = ?",
            [before],
        ).fetchall()
    )
    built_before = bool(was)
    now_counts = {s: sum(1 for r in rows if r[2] == s) for s in STATUSES}
    before_counts = {s: sum(1 for v in was.values() if v == s) for s in STATUSES}
    statuses = []
    for s in STATUSES:
        then = before_counts[s] if built_before else None
        delta = now_counts[s] - then if then is not None else None
        change = "–" if delta is None else ("±0" if delta == 0 else f"{delta:+d}")
        statuses.append(StatusCount(s, ACCOUNT_LABELS[s], now_counts[s], then, change))
    moves: dict[tuple[str, str], int] = {}
    newly = []
    for seller_id, name, status, failing in rows:
        previous = was.get(seller_id)
        if previous is None or previous == status:
            continue
        moves[(previous, status)] = moves.get((previous, status), 0) + 1
        if RANK[status] > RANK[previous]:
            reasons = ", ".join(_reason(f) for f in failing or [])
            newly.append(
                Newly(seller_id, name, ACCOUNT_LABELS[previous], ACCOUNT_LABELS[status], reasons)
            )
    newly.sort(key=lambda n: (n.now != ACCOUNT_LABELS["critical"], n.seller_id))
    movement = [
        f"{ACCOUNT_LABELS[a].lower()} → {ACCOUNT_LABELS[b].lower()}: {plural(n, 'seller')}"
        for (a, b), n in sorted(moves.items(), key=lambda kv: (-RANK[kv[0][1]], kv[0]))
    ]
    sundays, weekly_counts, built = _problem_weeks(con, as_of)
    problems = [
        Problem(
            _reason(f"{metric}/{channel}"),
            int(sellers),
            int(poor),
            [
                weekly_counts.get((metric, channel), {}).get(d, 0) if d in built else None
                for d in sundays
            ],
        )
        for metric, channel, sellers, poor in con.execute(
            "select metric, channel, count(*), count(*) filter (where status = 'poor') "
            "from marts.seller_metrics where as_of_date = ? and is_headline "
            "and status in ('fair', 'poor') group by all order by 3 desc, 4 desc, 1, 2",
            [as_of],
        ).fetchall()
    ]
    most = max([n or 0 for p in problems for n in p.weekly] + [1])
    problems = [replace(p, chart=_weekly_bars(p.weekly, most)) for p in problems]
    heading, recovering = _outlook(con, as_of)
    outbox = dict(
        (deliveries_con or con)
        .execute(
            "select status, count(*) from ops.newsletter_outbox where week = ? group by 1",
            [str(week)],
        )
        .fetchall()
    )
    waiting = len(rows) - sum(outbox.values())
    deliveries = [(s, int(outbox.get(s, 0))) for s in ("sent", "failed", "sending")]
    deliveries.append(("waiting", max(0, waiting)))
    return Overview(
        week=str(week),
        as_of=as_of.isoformat(),
        week_before=before.isoformat(),
        sellers=len(rows),
        statuses=statuses,
        movement=movement,
        newly=newly[:NEWLY_SHOWN],
        newly_total=len(newly),
        problems=problems,
        deliveries=deliveries,
        chart=_status_chart(statuses),
        heading=heading[:NEWLY_SHOWN],
        recovering=recovering[:NEWLY_SHOWN],
        in_7_days=(as_of + timedelta(days=7)).isoformat(),
    )


def _outlook(con: duckdb.DuckDBPyConnection, as_of: Any) -> tuple[list[Heading], list[Recovering]]:
    """From marts.metric_outlook: the sellers heading for critical within 7 days (a row
    projected poor while the seller is not critical), and when the critical ones are out
    of critical (every poor row recovered) and back on target, if nothing new goes wrong."""
    heading: dict[str, list[Any]] = {}
    for seller_id, name, account, metric, channel, status in con.execute(
        "select outlook.seller_id, card.seller_name, card.account_status, outlook.metric, "
        "outlook.channel, outlook.status from marts.metric_outlook as outlook "
        "join marts.seller_scorecard as card using (seller_id, as_of_date) "
        "where outlook.as_of_date = ? and card.account_status <> 'critical' "
        "and outlook.projected_status_7d = 'poor' "
        "order by outlook.seller_id, outlook.metric, outlook.channel",
        [as_of],
    ).fetchall():
        entry = heading.setdefault(seller_id, [name, account, []])
        entry[2].append(f"{_reason(f'{metric}/{channel}')}: {status} → poor")
    recovering = [
        Recovering(
            seller_id,
            name,
            out.isoformat() if out else "–",
            on_target.isoformat() if on_target else "–",
            ", ".join(_reason(r) for r in rows),
        )
        for seller_id, name, out, on_target, rows in con.execute(
            "select outlook.seller_id, any_value(card.seller_name), "
            "max(outlook.recovery_date) filter (where outlook.status = 'poor'), "
            "max(outlook.recovery_date), "
            "list(outlook.metric || '/' || outlook.channel order by outlook.metric, "
            "outlook.channel) filter (where outlook.status = 'poor') "
            "from marts.metric_outlook as outlook "
            "join marts.seller_scorecard as card using (seller_id, as_of_date) "
            "where outlook.as_of_date = ? and card.account_status = 'critical' "
            "and outlook.status in ('fair', 'poor') "
            "group by outlook.seller_id order by 3 nulls last, 1",
            [as_of],
        ).fetchall()
    ]
    return (
        [Heading(s, v[0], ACCOUNT_LABELS[v[1]], "; ".join(v[2])) for s, v in heading.items()],
        recovering,
    )


def overview_files(settings: Settings, week: IsoWeek) -> tuple[Path, Path]:
    """Where a week's overview is written: `{out}/overview/{week}.html|.pdf` (apart from
    the sellers' folder, so no seller id can collide with it)."""
    folder = settings.out_dir / "overview"
    return folder / f"{week}.html", folder / f"{week}.pdf"
