"""What one seller's newsletter shows (SPEC §6), read from the marts and formatted.

`seller_context` returns a `Newsletter`, a typed view model: every number is already
text, so the templates do no arithmetic and the email, HTML and PDF all say the same
thing. It is made in three steps kept apart: queries (`_seller_rows`, every one filtered
on the one seller id; nothing here reads another seller's rows), rules (`plan_rows`,
`low_volume_rows`) and formatting (`pct`, `fmt_*`, `metric_cell`). The metrics, their
words and their order come from the registry (reference/metrics.toml).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any

import duckdb

from pipeline.errors import NotBuiltError
from pipeline.models import registry
from pipeline.newsletter.charts import Point, trend_svg
from pipeline.weeks import IsoWeek

STATUS_LABELS = {"good": "Good", "fair": "Fair", "poor": "Poor", "none": "No data"}
ACCOUNT_LABELS = {"healthy": "Healthy", "at_risk": "At risk", "critical": "Critical"}
CHANNEL_LABELS = {
    "all": "All orders",
    "MFN": "Seller-fulfilled (MFN)",
    "AFN": "Fulfilled by marketplace (AFN)",
}
ODR_WINDOW_LABELS = {30: "Short-term", 60: "Headline", 90: "Long-term"}
DIMENSION_LABELS = {
    "cause": "Causes",
    "sku": "SKUs",
    "product_line": "Product lines",
    "carrier": "Carriers",
    "weekday": "Weekdays",
}
# How many defective orders the document lists; the CSV attachment has them all.
DEFECTS_SHOWN = 15
PRODUCT_LINES_SHOWN = 10
TREND_WEEKS = 13
# Beside the seller rating: what it is, and that the account status does not come from it.
SELLER_RATING_NOTE = (
    "the quality of your last 365 days of orders, recent ones weighing more; "
    "the account status comes from the scorecard, not from this rating"
)
CHANGE_WEEKS = 4


@dataclass(frozen=True)
class Measure:
    """One headline row of the metric table the scorecard shows."""

    metric: str
    channel: str
    window_days: int
    label: str
    # What a bad event is called, for "12 of 340 orders" sentences.
    bad: str
    unit: str = "orders"


def _scorecard() -> tuple[Measure, ...]:
    """The status-bearing headline rows (SPEC §3.4), in the registry's order."""
    return tuple(
        Measure(m.code, channel, m.headline or 0, m.row_label(channel), m.bad, m.noun)
        for m in registry.metrics()
        for channel in m.scorecard_rows
    )


SCORECARD = _scorecard()
# The headline metrics with a 13-week trend chart: each rate's first scorecard row.
TREND_METRICS = tuple(
    (m.metric, m.channel, m.window_days, m.label)
    for m in SCORECARD
    if registry.metric(m.metric).unit == "percent"
    and m.channel == registry.metric(m.metric).scorecard_rows[0]
)
# "How these numbers are computed": (name, definition, windows, lag) per metric.
HOW_COMPUTED = tuple(
    (m.label, m.how, m.windows_text, m.lag_text) for m in registry.metrics() if m.how
)


# ---------------------------------------------------------------------------------------
# Formatting: the only place numbers become text.


def plural(n: int, word: str, many: str | None = None) -> str:
    """1 order, 79 orders (many: an irregular plural)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def pct(rate: float | None, digits: int = 2) -> str:
    """0.01234 -> '1.23%'; None -> '–'."""
    if rate is None:
        return "–"
    return f"{rate * 100:.{digits}f}%"


def fmt_date(d: date | None) -> str:
    return d.isoformat() if d else "–"


def fmt_window(start: date, end: date) -> str:
    if start.year == end.year:
        return f"{start:%d %b} – {end:%d %b %Y}"
    return f"{start:%d %b %Y} – {end:%d %b %Y}"


def fmt_target(target: float | None, condition: str | None) -> str:
    if target is None:
        return "–"
    sign = "<" if condition == "LESS_THAN" else "≥"
    return f"{sign} {pct(target, 1 if target * 1000 % 10 else 0)}"


def fmt_hours(hours: float | None) -> str:
    if hours is None:
        return "–"
    return f"{hours:.1f} h"


@dataclass(frozen=True)
class Change:
    """A headline row's change since four weeks before: text, better/worse, tooltip."""

    text: str
    direction: str  # better, worse, same or none
    title: str


def fmt_change(now: dict[str, Any], then: dict[str, Any] | None) -> Change:
    """The change of a headline row since four weeks before, and whether it is better."""
    if then is None:
        return Change("–", "none", "not built four weeks ago")
    if now["metric"] == "policy_notices":
        a, b = int(now["numerator"] or 0), int(then["numerator"] or 0)
        delta = a - b
        text = f"{delta:+d}" if delta else "±0"
        direction = "same" if delta == 0 else ("worse" if delta > 0 else "better")
        return Change(text, direction, f"{b} four weeks ago")
    if now["rate"] is None or then["rate"] is None:
        return Change("–", "none", "no data in one of the windows")
    delta_pt = round((now["rate"] - then["rate"]) * 100, 2)
    if delta_pt == 0:
        return Change("±0.00 pt", "same", f"was {pct(then['rate'])}")
    lower_is_better = now["target_condition"] != "GREATER_THAN"
    better = (delta_pt < 0) == lower_is_better
    arrow = "▲" if delta_pt > 0 else "▼"
    return Change(
        f"{arrow} {abs(delta_pt):.2f} pt",
        "better" if better else "worse",
        f"was {pct(then['rate'])}",
    )


def day_month(d: date) -> str:
    """date(2026, 12, 14) -> '14 Dec'."""
    return f"{d.day} {d:%b}"


def _bad(m: registry.Metric, n: int) -> str:
    one, many = m.bad_events or ("bad event", "bad events")
    return plural(n, one, many)


def fmt_recovery(m: registry.Metric, row: dict[str, Any]) -> str:
    """'Back on target on 14 Dec if nothing new goes wrong (3 defective orders must leave
    the 60-day window)', for a row at fair or poor."""
    if row["recovery_date"] is None:
        return ""
    text = f"Back on target on {day_month(row['recovery_date'])} if nothing new goes wrong"
    leave = int(row["bad_events_to_leave"] or 0)
    if leave:
        return f"{text} ({_bad(m, leave)} must leave the {row['window_days']}-day window)."
    many = m.bad_events[1] if m.bad_events else "bad events"
    return f"{text} (new {m.noun} are enough: none of the {many} has to leave)."


def fmt_projection(row: dict[str, Any], as_of: date) -> str:
    """'Heading for Poor by 6 Dec at this rate.' where the status would change in 7 days."""
    now, then = row["status"], row["projected_status_7d"]
    judged = ("good", "fair", "poor")
    if now not in judged or then not in judged or now == then:
        return ""
    return (
        f"Heading for {STATUS_LABELS[then]} by {day_month(as_of + timedelta(days=7))} at this rate."
    )


def fmt_moved(m: registry.Metric, row: dict[str, Any]) -> str:
    """What moved the rate over four weeks: '+0.25 pt: 3 new defective orders, 2 aged
    out, 1 more on days already in the window, 60% more orders' (marts.metric_outlook's
    change parts)."""
    change = row["change_28d"]
    if change is None:
        return ""
    head = "±0.00 pt" if round(change * 100, 2) == 0 else f"{change * 100:+.2f} pt"
    if row["change_entering"] is None:
        return head
    one, many = m.bad_events or ("bad event", "bad events")
    parts = []
    entering = int(row["bad_events_entering"])
    if entering:
        parts.append(f"{entering:,} new {one if entering == 1 else many}")
    leaving = int(row["bad_events_leaving"])
    if leaving:
        parts.append(f"{leaving:,} aged out")
    restated = int(row["bad_events_restated"])
    if restated:
        # Counts of days in both windows that changed since: late feedback, a claim
        # decided, an order that became late, feedback removed.
        more = "more" if restated > 0 else "fewer"
        parts.append(f"{abs(restated):,} {more} on days already in the window")
    before, now = row["denominator_28d_before"], row["denominator"]
    if before:
        volume = (now - before) / before
        if round(volume * 100) != 0:
            parts.append(f"{abs(volume):.0%} {'more' if volume > 0 else 'fewer'} {m.noun}")
    if parts:
        return f"{head}: {', '.join(parts)}"
    return f"{head}: nothing new, nothing aged out" if head == "±0.00 pt" else head


def fmt_peers(row: dict[str, Any], marketplace: str) -> str:
    """'better than 72% of US sellers (median 0.80%)'; empty below the minimum cohort."""
    share = row["peer_percentile"]
    if share is None or row["peer_count"] is None:
        return ""
    median = pct(row["peer_median"])
    if share == 0:
        others = row["peer_count"] - 1
        return f"behind the other {others} {marketplace} sellers compared (median {median})"
    return f"better than {share:.0%} of {marketplace} sellers (median {median})"


# ---------------------------------------------------------------------------------------
# Queries


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@dataclass(frozen=True)
class Cell:
    """One row of marts.seller_metrics, formatted."""

    metric: str
    channel: str
    rate: str
    numerator: int
    denominator: int
    counts: str
    target: str
    status: str
    status_label: str
    low_volume: bool
    spike: bool
    window: str
    window_days: int
    has_data: bool


def metric_cell(row: dict[str, Any]) -> Cell:
    status = row["status"]
    # Numerators are DOUBLE in the mart (avg_response_hours holds hours); counts are whole.
    numerator = int(row["numerator"]) if row["numerator"] is not None else 0
    denominator = int(row["denominator"]) if row["denominator"] is not None else 0
    return Cell(
        metric=row["metric"],
        channel=row["channel"],
        rate=pct(row["rate"]),
        numerator=numerator,
        denominator=denominator,
        counts=f"{numerator:,} of {denominator:,}",
        target=fmt_target(row["target"], row["target_condition"]),
        status=status,
        status_label=STATUS_LABELS[status],
        low_volume=bool(row["low_volume"]),
        spike=bool(row["spike"]),
        window=fmt_window(row["window_start"], row["window_end"]),
        window_days=row["window_days"],
        has_data=denominator > 0,
    )


def _cell_fields(cell: Cell) -> dict[str, Any]:
    return {f.name: getattr(cell, f.name) for f in fields(Cell)}


def trend_charts(
    con: duckdb.DuckDBPyConnection, seller_id: str, week: IsoWeek
) -> list[dict[str, Any]]:
    """One chart per headline metric over the 13 weeks ending with `week` (as-of Sundays)."""
    weeks = [week.minus(k) for k in range(TREND_WEEKS - 1, -1, -1)]
    rows = con.execute(
        "select metric, as_of_date, rate, target, target_condition from marts.seller_metrics "
        "where seller_id = ? and as_of_date between ? and ? and is_headline "
        "and (metric, channel, window_days) in ("
        + ", ".join("(?, ?, ?)" for _ in TREND_METRICS)
        + ")",
        [seller_id, weeks[0].as_of, week.as_of]
        + [v for m, ch, w, _ in TREND_METRICS for v in (m, ch, w)],
    ).fetchall()
    by_metric: dict[str, dict[date, float | None]] = {}
    targets: dict[str, tuple[float | None, str | None]] = {}
    for metric, as_of, rate, target, condition in rows:
        by_metric.setdefault(metric, {})[as_of] = rate
        targets[metric] = (target, condition)
    charts = []
    for metric, _, _, title in TREND_METRICS:
        series = by_metric.get(metric, {})
        points = [Point(f"W{w.week:02d}", series.get(w.as_of)) for w in weeks]
        target, condition = targets.get(metric, (None, None))
        charts.append(
            {
                "metric": metric,
                "title": title,
                "svg": trend_svg(points, target, condition, title, chart_id=metric),
                "weeks_with_data": sum(p.value is not None for p in points),
            }
        )
    return charts


def _defective_orders(
    con: duckdb.DuckDBPyConnection, seller_id: str, as_of: date, limit: int | None
) -> list[dict[str, Any]]:
    rows = _rows(
        con,
        "select order_id, purchase_date, sku, product_line, fulfillment_channel, "
        "is_negative_feedback, is_counting_claim, is_service_chargeback, "
        "feedback_rating, feedback_comment, first_defect_at "
        "from marts.defective_orders where seller_id = ? and as_of_date = ? "
        "order by purchase_date desc, order_id" + (f" limit {int(limit)}" if limit else ""),
        [seller_id, as_of],
    )
    for d in rows:
        d["defects"] = ", ".join(
            name
            for name, flag in (
                ("negative feedback", d["is_negative_feedback"]),
                ("A-to-z claim", d["is_counting_claim"]),
                ("chargeback", d["is_service_chargeback"]),
            )
            if flag
        )
    return rows


def defective_orders_csv_rows(
    con: duckdb.DuckDBPyConnection, seller_id: str, as_of: date
) -> list[list[str]]:
    """The full defect list of the headline ODR window, header first, for the attachment."""
    header = [
        "order_id",
        "purchase_date",
        "fulfillment_channel",
        "sku",
        "product_line",
        "defects",
        "feedback_rating",
        "feedback_comment",
        "first_defect_at",
    ]
    out = [header]
    for d in _defective_orders(con, seller_id, as_of, None):
        out.append(
            [
                d["order_id"],
                fmt_date(d["purchase_date"]),
                d["fulfillment_channel"],
                d["sku"],
                d["product_line"],
                d["defects"],
                "" if d["feedback_rating"] is None else str(d["feedback_rating"]),
                d["feedback_comment"] or "",
                "" if d["first_defect_at"] is None else d["first_defect_at"].isoformat(" "),
            ]
        )
    return out


def _drivers(
    con: duckdb.DuckDBPyConnection, seller_id: str, as_of: date
) -> dict[str, list[DriverLine]]:
    """Per failing metric: per dimension, the top values behind its bad events."""
    rows = _rows(
        con,
        "select metric, channel, dimension, value, rank, bad_events, population, bad_rate, "
        "share_of_bad_events from marts.metric_drivers where seller_id = ? and as_of_date = ? "
        "order by metric, dimension, rank",
        [seller_id, as_of],
    )
    out: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        text = (
            f"{r['value']}: {r['bad_events']:,} of {r['population']:,} "
            f"({pct(r['bad_rate'], 1)}; {pct(r['share_of_bad_events'], 0)} of the total)"
        )
        out.setdefault(r["metric"], {}).setdefault(r["dimension"], []).append(text)
    return {
        metric: [
            DriverLine(DIMENSION_LABELS[dim], dims[dim]) for dim in DIMENSION_LABELS if dim in dims
        ]
        for metric, dims in out.items()
    }


# ---------------------------------------------------------------------------------------
# The view model: what the templates receive. Every number is already text; templates do
# no arithmetic, and the email, HTML and PDF say the same thing.


@dataclass(frozen=True)
class Seller:
    id: str
    name: str
    marketplace: str


@dataclass(frozen=True)
class ScorecardRow(Cell):
    """A status-bearing headline row, with its change since four weeks before."""

    label: str
    sub: bool  # a channel row under its metric's all-channel row
    unit: str
    change: Change
    peers: str = ""  # "better than 72 % of US sellers (median 0.80%)"
    ahead: OutlookLine | None = None  # what comes next (marts.metric_outlook)


@dataclass(frozen=True)
class SplitRow(Cell):
    """A part of the order defect rate (negative feedback, claims, chargebacks)."""

    label: str
    by_channel: dict[str, str]


@dataclass(frozen=True)
class OdrRow:
    label: str
    headline: bool
    cells: dict[str, Cell]


@dataclass(frozen=True)
class DriverLine:
    label: str
    values: list[str]


@dataclass(frozen=True)
class Plan:
    metric: str
    label: str
    status: str
    status_label: str
    issue: str
    drivers: list[DriverLine]
    now: list[str]
    later: list[str]
    recovery: str = ""  # when it is back on target if nothing new goes wrong


@dataclass(frozen=True)
class LowVolumeNote:
    label: str
    window_days: int
    rate: str
    counts: str
    target: str


@dataclass(frozen=True)
class DetailRow:
    """A row of "your measures in detail": a metric's window (`cell`), or a figure for
    information only (the average response time, the seller rating)."""

    label: str
    noun: str
    cell: Cell | None = None
    note: str = ""  # the small line under an information row's label
    value: str = ""
    counts: str = ""


@dataclass(frozen=True)
class DetailGroup:
    title: str
    rows: list[DetailRow]


@dataclass(frozen=True)
class Odr:
    headline: Cell
    rows: list[OdrRow]
    split: list[SplitRow]
    defective_orders: list[dict[str, Any]]
    defective_total: int
    defects_shown: int
    defective_summary: str  # "3 orders in the headline window are defective."


@dataclass(frozen=True)
class OutlookLine:
    """What comes next for one scorecard row (SPEC 3.6), in words; empty: nothing to say."""

    label: str
    status: str
    status_label: str
    recovery: str  # "Back on target on 14 Dec if nothing new goes wrong (3 ... must leave ...)"
    projection: str  # "Heading for Poor by 6 Dec at this rate."
    change: str  # "+0.25 pt: 3 new defective orders, 2 aged out, 1 more on days already in
    # the window, 60% more orders"
    change_direction: str  # better, worse, same or none


@dataclass(frozen=True)
class Newsletter:
    """Everything one seller's newsletter shows (SPEC §6), formatted."""

    seller: Seller
    week: str
    week_start: str
    week_end: str
    as_of: str
    change_since: str
    account_status: str
    account_status_label: str
    healthy: bool
    seller_rating: str
    feedback_rating: str
    channels: dict[str, str]
    scorecard: list[ScorecardRow]
    trends: list[dict[str, Any]]
    trend_weeks: int
    odr: Odr
    product_lines: list[dict[str, Any]]
    product_lines_total: int
    notices: list[dict[str, Any]]
    plans: list[Plan]
    outlook: list[OutlookLine]
    low_volume: list[LowVolumeNote]
    attention: str  # "2 areas need your attention; ..."
    seller_rating_note: str
    short: bool  # a healthy seller's short version: no rows the scorecard already shows
    detail: list[DetailGroup]
    how_computed: tuple[tuple[str, str, str, str], ...]

    def template_values(self) -> dict[str, Any]:
        """The fields as the templates' top-level names."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ---------------------------------------------------------------------------------------
# Queries: the seller's rows, each filtered on the one seller id.


@dataclass(frozen=True)
class _SellerRows:
    outlook: dict[tuple[str, str], dict[str, Any]]
    card: dict[str, Any]
    now: dict[tuple[str, str, int], dict[str, Any]]
    then: dict[tuple[str, str, int], dict[str, Any]]
    product_lines: list[dict[str, Any]]
    product_lines_total: int
    notices: list[dict[str, Any]]


def _seller_rows(con: duckdb.DuckDBPyConnection, seller_id: str, as_of: date) -> _SellerRows:
    then_as_of = as_of - timedelta(weeks=CHANGE_WEEKS)
    card = _rows(
        con,
        "select * from marts.seller_scorecard where seller_id = ? and as_of_date = ?",
        [seller_id, as_of],
    )
    if not card:
        raise NotBuiltError(f"seller {seller_id} has no scorecard as of {as_of}")
    metrics = _rows(
        con,
        "select * from marts.seller_metrics where seller_id = ? and as_of_date in (?, ?) "
        "order by as_of_date, metric, window_days, channel",
        [seller_id, as_of, then_as_of],
    )

    def by_key(day: date) -> dict[tuple[str, str, int], dict[str, Any]]:
        return {
            (m["metric"], m["channel"], m["window_days"]): m
            for m in metrics
            if m["as_of_date"] == day
        }

    product_lines = _rows(
        con,
        "select * from marts.product_line_metrics where seller_id = ? and as_of_date = ? "
        "order by defective_orders desc, orders desc, product_line "
        f"limit {PRODUCT_LINES_SHOWN}",
        [seller_id, as_of],
    )
    total = con.execute(
        "select count(*) from marts.product_line_metrics where seller_id = ? and as_of_date = ?",
        [seller_id, as_of],
    ).fetchall()[0][0]
    notices = _rows(
        con,
        "select * from marts.seller_notices where seller_id = ? and as_of_date = ? "
        "and is_unread_open order by severity = 'critical' desc, issued_at desc, notice_id",
        [seller_id, as_of],
    )
    outlook = {
        (o["metric"], o["channel"]): o
        for o in _rows(
            con,
            "select * from marts.metric_outlook where seller_id = ? and as_of_date = ?",
            [seller_id, as_of],
        )
    }
    return _SellerRows(
        outlook, card[0], by_key(as_of), by_key(then_as_of), product_lines, int(total), notices
    )


# ---------------------------------------------------------------------------------------
# Rules: which rows a seller is told about.


def plan_rows(
    scorecard: list[ScorecardRow], now: dict[tuple[str, str, int], dict[str, Any]]
) -> list[tuple[ScorecardRow, Measure]]:
    """The scorecard rows that get a plan of action: the rows marts.seller_metrics flags
    `is_plan_row` (one per metric at fair or poor; the rule lives there, in SQL)."""
    return [
        (row, m)
        for row, m in zip(scorecard, SCORECARD, strict=True)
        if now[(m.metric, m.channel, m.window_days)]["is_plan_row"]
    ]


def low_volume_rows(now: dict[tuple[str, str, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with a target whose miss was not credible at its volume (SPEC §3.4)."""
    return sorted(
        (r for r in now.values() if r["low_volume"]),
        key=lambda r: (r["metric"], r["channel"], r["window_days"]),
    )


def detail_groups(
    now: dict[tuple[str, str, int], dict[str, Any]], sc: dict[str, Any], *, short: bool
) -> list[DetailGroup]:
    """The detail rows of the registry, by group; the short version leaves out the rows
    the scorecard shows (its headline rows)."""
    on_scorecard = {(m.metric, m.channel, m.window_days) for m in SCORECARD}
    groups = []
    for group in registry.detail_groups():
        rows = []
        for m in registry.metrics():
            if m.detail.get("group") != group.name:
                continue
            label, noun = m.detail["label"], m.detail.get("noun", "")
            if m.code == "rating_points":  # the seller rating: a score, not a window
                rating = sc["seller_rating"]
                rows.append(
                    DetailRow(
                        label,
                        noun,
                        note="orders of the last 365 days, recent ones weigh more",
                        value=("–" if rating is None else f"{rating:.0f}") + "/100",
                    )
                )
                continue
            for days in m.windows:
                key = (m.code, m.headline_channel, days)
                if short and key in on_scorecard:
                    continue
                row = now[key]
                if m.unit == "hours":  # a mean, for information
                    rows.append(
                        DetailRow(
                            label.format(days=days),
                            noun,
                            note=fmt_window(row["window_start"], row["window_end"]),
                            value=fmt_hours(row["rate"]),
                            counts=f"{int(row['denominator'] or 0)} {noun}",
                        )
                    )
                else:
                    rows.append(DetailRow(label.format(days=days), noun, metric_cell(row)))
        if rows:
            groups.append(DetailGroup(group.short_title if short else group.title, rows))
    return groups


# ---------------------------------------------------------------------------------------
# Formatting: rows into the view model.


def seller_context(con: duckdb.DuckDBPyConnection, seller_id: str, week: IsoWeek) -> Newsletter:
    """Everything one seller's newsletter shows, formatted, from that seller's rows only."""
    as_of = week.as_of
    rows = _seller_rows(con, seller_id, as_of)
    sc, now, then = rows.card, rows.now, rows.then

    def cell(metric: str, channel: str, days: int) -> Cell:
        return metric_cell(now[(metric, channel, days)])

    scorecard = []
    for m in SCORECARD:
        key = (m.metric, m.channel, m.window_days)
        row = now[key]
        shown = metric_cell(row)
        if m.metric == "policy_notices":
            # The figure judged is the unread notices (SPEC 3.4); what was issued is context.
            shown = replace(
                shown,
                rate=f"{sc['unread_notices']} unread",
                counts=f"{plural(shown.numerator, 'notice')} issued in {m.window_days} days",
                target="all read",
            )
        change = fmt_change(row, then.get(key))
        ahead = rows.outlook.get((m.metric, m.channel))
        line = None
        if ahead is not None:
            metric = registry.metric(m.metric)
            line = OutlookLine(
                label=m.label,
                status=shown.status,
                status_label=shown.status_label,
                recovery=fmt_recovery(metric, ahead),
                projection=fmt_projection(ahead, as_of),
                change=fmt_moved(metric, ahead),
                change_direction=change.direction,
            )
        scorecard.append(
            ScorecardRow(
                **_cell_fields(shown),
                label=m.label,
                sub=m.metric == "order_defect_rate" and m.channel != "all",
                unit=m.unit,
                change=change,
                peers=fmt_peers(ahead, sc["marketplace"]) if ahead else "",
                ahead=line,
            )
        )
    outlook = [
        row.ahead
        for row in scorecard
        if row.ahead and (row.ahead.recovery or row.ahead.projection or row.ahead.change)
    ]

    headline = cell("order_defect_rate", "all", 60)
    odr = Odr(
        headline=headline,
        rows=[
            OdrRow(
                f"{label} ({days} days)",
                days == 60,
                {ch: cell("order_defect_rate", ch, days) for ch in CHANNEL_LABELS},
            )
            for days, label in ODR_WINDOW_LABELS.items()
        ],
        split=[
            SplitRow(
                **_cell_fields(cell(m.code, "all", 60)),
                label=m.label,
                by_channel={ch: cell(m.code, ch, 60).rate for ch in ("MFN", "AFN")},
            )
            for m in registry.metrics()
            if m.part_of == "order_defect_rate"
        ],
        defective_orders=[
            {
                "order_id": d["order_id"],
                "purchase_date": fmt_date(d["purchase_date"]),
                "sku": d["sku"],
                "product_line": d["product_line"],
                "channel": d["fulfillment_channel"],
                "defects": d["defects"],
                "comment": d["feedback_comment"] or "",
            }
            for d in _defective_orders(con, seller_id, as_of, DEFECTS_SHOWN)
        ],
        defective_total=headline.numerator,
        defects_shown=DEFECTS_SHOWN,
        defective_summary=(
            f"{plural(headline.numerator, 'order')} in the headline window "
            f"{'is' if headline.numerator == 1 else 'are'} defective."
        ),
    )
    product_lines = [
        {
            "product_line": p["product_line"],
            "orders": f"{p['orders']:,}",
            "defective": f"{p['defective_orders']:,}",
            "rate": pct(p["order_defect_rate"]),
            "negative_feedback": p["negative_feedback"],
            "claims": p["claims"],
            "chargebacks": p["chargebacks"],
            "refunds": p["refunds"],
        }
        for p in rows.product_lines
    ]
    notices = [
        {
            "notice_id": n["notice_id"],
            "issued": fmt_date(n["issued_at"].date()),
            "category": n["category"],
            "severity": n["severity"],
            "subject": n["subject"],
        }
        for n in rows.notices
    ]

    drivers = _drivers(con, seller_id, as_of)
    plans = []
    for entry, m in plan_rows(scorecard, now):
        if m.metric == "policy_notices":
            issue = f"{plural(sc['unread_notices'], 'policy notice')} unread" + (
                f", {sc['unread_critical_notices']} of them critical"
                if sc["unread_critical_notices"]
                else ""
            )
        else:
            issue = (
                f"{m.label}: {entry.rate} ({entry.counts} {m.unit} {m.bad}) "
                f"against a target of {entry.target}, {entry.window}"
            )
            if entry.spike and entry.status != "poor":
                issue += "; more first defects in the last 7 days than your history explains"
        steps = registry.metric(m.metric)
        found = drivers.get(m.metric, [])
        causes = next((d.values for d in found if d.label == DIMENSION_LABELS["cause"]), [])
        # "negative feedback: 12 of 40 (...)" -> the plan names the leading cause.
        leading = causes[0].split(":")[0] if causes else "the problem most orders share"

        def step(text: str, leading: str = leading) -> str:
            return text.replace("{leading_cause}", leading)

        plans.append(
            Plan(
                metric=m.metric,
                label=m.label,
                status=entry.status,
                status_label=entry.status_label,
                issue=issue,
                drivers=found,
                now=[step(t.text) for t in steps.plan_now if t.applies_to(m.channel)],
                later=[step(t.text) for t in steps.plan_later if t.applies_to(m.channel)],
                recovery=entry.ahead.recovery if entry.ahead else "",
            )
        )

    low_volume = [
        LowVolumeNote(
            label=next(
                (
                    m.label
                    for m in SCORECARD
                    if m.metric == r["metric"] and m.channel == r["channel"]
                ),
                r["metric"],
            ),
            window_days=r["window_days"],
            rate=pct(r["rate"]),
            counts=f"{int(r['numerator'] or 0):,} of {int(r['denominator'] or 0):,}",
            target=fmt_target(r["target"], r["target_condition"]),
        )
        for r in low_volume_rows(now)
    ]

    status = sc["account_status"]
    feedback_rate = sc["feedback_positive_rate"]
    short = status == "healthy" and not headline.spike
    return Newsletter(
        seller=Seller(sc["seller_id"], sc["seller_name"], sc["marketplace"]),
        week=str(week),
        week_start=fmt_date(week.monday),
        week_end=fmt_date(week.sunday),
        as_of=fmt_date(as_of),
        change_since=fmt_date(as_of - timedelta(weeks=CHANGE_WEEKS)),
        account_status=status,
        account_status_label=ACCOUNT_LABELS[status],
        healthy=status == "healthy",
        seller_rating="–" if sc["seller_rating"] is None else f"{sc['seller_rating']:.0f}",
        feedback_rating=pct(feedback_rate, 0) if feedback_rate is not None else "–",
        channels=CHANNEL_LABELS,
        scorecard=scorecard,
        trends=trend_charts(con, seller_id, week),
        trend_weeks=TREND_WEEKS,
        odr=odr,
        product_lines=product_lines,
        product_lines_total=rows.product_lines_total,
        notices=notices,
        plans=plans,
        outlook=outlook,
        low_volume=low_volume,
        attention=(
            f"{plural(len(plans), 'area')} {'needs' if len(plans) == 1 else 'need'} your "
            "attention; each has a plan of action at the end of this newsletter."
        ),
        seller_rating_note=SELLER_RATING_NOTE,
        short=short,
        detail=detail_groups(now, sc, short=short),
        how_computed=HOW_COMPUTED,
    )


def email_summary(view: Newsletter) -> list[dict[str, str]]:
    """The scorecard rows the email body shows (kept in the manifest for delivery), with
    what comes next for a row at fair or poor, or one whose status is about to change."""
    return [
        {
            "next": (row.ahead.recovery or row.ahead.projection) if row.ahead else "",
            "label": row.label,
            "rate": row.rate,
            "target": row.target,
            "status": row.status,
            "status_label": row.status_label,
            "change": row.change.text,
            "direction": row.change.direction,
        }
        for row in view.scorecard
        if not row.sub
    ]
