"""What one seller's newsletter shows (SPEC §6), read from the marts and formatted.

`seller_context` returns a plain dict: every number is already text, so the templates do
no arithmetic and the email, HTML and PDF all say the same thing. Every query filters on
the one seller id; nothing here reads another seller's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from pipeline.charts import Point, trend_svg
from pipeline.errors import NotBuiltError
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
    "sku": "SKUs",
    "product_line": "Product lines",
    "carrier": "Carriers",
    "weekday": "Weekdays",
}
# How many defective orders the document lists; the CSV attachment has them all.
DEFECTS_SHOWN = 15
PRODUCT_LINES_SHOWN = 10
TREND_WEEKS = 13
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


# The status-bearing headline rows (SPEC §3.4), in the order the scorecard lists them.
SCORECARD = (
    Measure("order_defect_rate", "all", 60, "Order defect rate", "defective"),
    Measure("order_defect_rate", "MFN", 60, "Order defect rate, seller-fulfilled", "defective"),
    Measure(
        "order_defect_rate", "AFN", 60, "Order defect rate, fulfilled by marketplace", "defective"
    ),
    Measure("cancellation_rate", "MFN", 7, "Pre-fulfilment cancellation rate", "cancelled by you"),
    Measure("late_shipment_rate", "MFN", 30, "Late shipment rate", "shipped late"),
    Measure(
        "valid_tracking_rate", "MFN", 30, "Valid tracking rate", "with valid tracking", "shipments"
    ),
    Measure(
        "on_time_delivery_rate",
        "MFN",
        14,
        "On-time delivery rate",
        "delivered on time",
        "tracked shipments",
    ),
    Measure(
        "contact_response_rate",
        "all",
        30,
        "Buyer messages answered within 24 hours",
        "answered in time",
        "messages",
    ),
    Measure("perfect_order_rate", "all", 90, "Perfect order percentage", "perfect"),
    Measure("policy_notices", "all", 180, "Policy notices", "issued", "notices"),
)
# The headline metrics with a 13-week trend chart.
TREND_METRICS = tuple(
    (m.metric, m.channel, m.window_days, m.label)
    for m in SCORECARD
    if m.metric != "policy_notices" and (m.metric != "order_defect_rate" or m.channel == "all")
)


# ---------------------------------------------------------------------------------------
# Formatting: the only place numbers become text.


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


def fmt_change(now: dict[str, Any], then: dict[str, Any] | None) -> dict[str, str]:
    """The change of a headline row since four weeks before, and whether it is better."""
    if then is None:
        return {"text": "–", "direction": "none", "title": "not built four weeks ago"}
    if now["metric"] == "policy_notices":
        a, b = int(now["numerator"] or 0), int(then["numerator"] or 0)
        delta = a - b
        text = f"{delta:+d}" if delta else "±0"
        direction = "same" if delta == 0 else ("worse" if delta > 0 else "better")
        return {"text": text, "direction": direction, "title": f"{b} four weeks ago"}
    if now["rate"] is None or then["rate"] is None:
        return {"text": "–", "direction": "none", "title": "no data in one of the windows"}
    delta_pt = round((now["rate"] - then["rate"]) * 100, 2)
    if delta_pt == 0:
        return {"text": "±0.00 pt", "direction": "same", "title": f"was {pct(then['rate'])}"}
    lower_is_better = now["target_condition"] != "GREATER_THAN"
    better = (delta_pt < 0) == lower_is_better
    arrow = "▲" if delta_pt > 0 else "▼"
    return {
        "text": f"{arrow} {abs(delta_pt):.2f} pt",
        "direction": "better" if better else "worse",
        "title": f"was {pct(then['rate'])}",
    }


# ---------------------------------------------------------------------------------------
# Queries


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def metric_cell(row: dict[str, Any]) -> dict[str, Any]:
    status = row["status"]
    # Numerators are DOUBLE in the mart (avg_response_hours holds hours); counts are whole.
    numerator = int(row["numerator"]) if row["numerator"] is not None else 0
    denominator = int(row["denominator"]) if row["denominator"] is not None else 0
    return {
        "metric": row["metric"],
        "channel": row["channel"],
        "rate": pct(row["rate"]),
        "numerator": numerator,
        "denominator": denominator,
        "counts": f"{numerator:,} of {denominator:,}",
        "target": fmt_target(row["target"], row["target_condition"]),
        "status": status,
        "status_label": STATUS_LABELS[status],
        "low_volume": bool(row["low_volume"]),
        "spike": bool(row["spike"]),
        "window": fmt_window(row["window_start"], row["window_end"]),
        "window_days": row["window_days"],
        "has_data": denominator > 0,
    }


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
) -> dict[str, list[dict[str, Any]]]:
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
            {"label": DIMENSION_LABELS[dim], "values": dims[dim]}
            for dim in DIMENSION_LABELS
            if dim in dims
        ]
        for metric, dims in out.items()
    }


def seller_context(con: duckdb.DuckDBPyConnection, seller_id: str, week: IsoWeek) -> dict[str, Any]:
    """Everything one seller's newsletter shows, formatted, from that seller's rows only."""
    as_of = week.as_of
    then_as_of = as_of - timedelta(weeks=CHANGE_WEEKS)
    card = _rows(
        con,
        "select * from marts.seller_scorecard where seller_id = ? and as_of_date = ?",
        [seller_id, as_of],
    )
    if not card:
        raise NotBuiltError(f"seller {seller_id} has no scorecard as of {as_of}")
    sc = card[0]
    metrics = _rows(
        con,
        "select * from marts.seller_metrics where seller_id = ? and as_of_date in (?, ?) "
        "order by as_of_date, metric, window_days, channel",
        [seller_id, as_of, then_as_of],
    )
    now = {
        (m["metric"], m["channel"], m["window_days"]): m
        for m in metrics
        if m["as_of_date"] == as_of
    }
    then = {
        (m["metric"], m["channel"], m["window_days"]): m
        for m in metrics
        if m["as_of_date"] == then_as_of
    }

    def cell(metric: str, channel: str, days: int) -> dict[str, Any]:
        return metric_cell(now[(metric, channel, days)])

    # Scorecard: each status-bearing headline row with its change since four weeks before.
    scorecard = []
    for m in SCORECARD:
        key = (m.metric, m.channel, m.window_days)
        row = now[key]
        entry = {
            "label": m.label,
            "sub": m.metric == "order_defect_rate" and m.channel != "all",
            "unit": m.unit,
            **metric_cell(row),
            "change": fmt_change(row, then.get(key)),
        }
        if m.metric == "policy_notices":
            entry["rate"] = f"{entry['numerator']} issued"
            entry["counts"] = f"{sc['unread_notices']} unread"
            entry["target"] = "0 unread"
        scorecard.append(entry)

    odr_rows = []
    for days, label in ODR_WINDOW_LABELS.items():
        cells = {ch: cell("order_defect_rate", ch, days) for ch in CHANNEL_LABELS}
        odr_rows.append({"label": f"{label} ({days} days)", "headline": days == 60, "cells": cells})
    headline = cell("order_defect_rate", "all", 60)
    split = [
        {
            "label": label,
            **cell(metric, "all", 60),
            "by_channel": {ch: cell(metric, ch, 60)["rate"] for ch in ("MFN", "AFN")},
        }
        for metric, label in (
            ("negative_feedback_rate", "Negative feedback"),
            ("claim_rate", "A-to-z Guarantee claims"),
            ("chargeback_rate", "Service chargebacks"),
        )
    ]
    defective_orders = [
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
    ]
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
        for p in _rows(
            con,
            "select * from marts.product_line_metrics where seller_id = ? and as_of_date = ? "
            "order by defective_orders desc, orders desc, product_line "
            f"limit {PRODUCT_LINES_SHOWN}",
            [seller_id, as_of],
        )
    ]
    product_lines_total = int(
        con.execute(
            "select count(*) from marts.product_line_metrics "
            "where seller_id = ? and as_of_date = ?",
            [seller_id, as_of],
        ).fetchall()[0][0]
    )

    classic = {
        "cancellation": cell("cancellation_rate", "MFN", 7),
        "late_10": cell("late_shipment_rate", "MFN", 10),
        "late_30": cell("late_shipment_rate", "MFN", 30),
        "refunds": cell("refund_rate", "all", 30),
    }
    delivery = {
        "tracking": cell("valid_tracking_rate", "MFN", 30),
        "on_time": cell("on_time_delivery_rate", "MFN", 14),
    }
    avg = now[("avg_response_hours", "all", 30)]
    messages = {
        "response": [cell("contact_response_rate", "all", d) for d in (7, 30, 90)],
        "avg_hours": fmt_hours(avg["rate"]),
        "avg_window": fmt_window(avg["window_start"], avg["window_end"]),
        "answered": int(avg["denominator"] or 0),
        "fcr": cell("first_contact_resolution_rate", "all", 56),
    }
    feedback = cell("feedback_positive_rate", "all", 365)
    notices = [
        {
            "notice_id": n["notice_id"],
            "issued": fmt_date(n["issued_at"].date()),
            "category": n["category"],
            "severity": n["severity"],
            "subject": n["subject"],
        }
        for n in _rows(
            con,
            "select * from marts.seller_notices where seller_id = ? and as_of_date = ? "
            "and is_unread_open order by severity = 'critical' desc, issued_at desc, notice_id",
            [seller_id, as_of],
        )
    ]

    # Plan of action: every scorecard row at fair or poor, with what is behind it.
    drivers = _drivers(con, seller_id, as_of)
    plans = []
    failing = [
        (entry, m)
        for entry, m in zip(scorecard, SCORECARD, strict=True)
        if entry["status"] in ("fair", "poor")
    ]
    # One plan per metric. The order defect rate has three rows (all, MFN, AFN): take the
    # worst, and among equals the whole account: the rule marts.metric_drivers explains.
    chosen: dict[str, tuple[dict[str, Any], Measure]] = {}
    for em in sorted(failing, key=lambda em: (em[0]["status"] != "poor", em[1].channel != "all")):
        chosen.setdefault(em[1].metric, em)
    for entry, m in (em for em in failing if chosen[em[1].metric] is em):
        if m.metric == "policy_notices":
            issue = f"{sc['unread_notices']} policy notice(s) unread" + (
                f", {sc['unread_critical_notices']} of them critical"
                if sc["unread_critical_notices"]
                else ""
            )
        else:
            issue = (
                f"{m.label}: {entry['rate']} ({entry['counts']} {m.unit} {m.bad}) "
                f"against a target of {entry['target']}, {entry['window']}"
            )
            if entry["spike"] and entry["status"] != "poor":
                issue += "; more first defects in the last 7 days than your history explains"
        plans.append(
            {
                "metric": m.metric,
                "label": m.label,
                "status": entry["status"],
                "status_label": entry["status_label"],
                "issue": issue,
                "drivers": drivers.get(m.metric, []),
            }
        )

    # Low-volume notes: every row with a target whose miss was not credible.
    low_volume = [
        {
            "label": next(
                (
                    m.label
                    for m in SCORECARD
                    if m.metric == r["metric"] and m.channel == r["channel"]
                ),
                r["metric"],
            ),
            "window_days": r["window_days"],
            "rate": pct(r["rate"]),
            "counts": f"{int(r['numerator'] or 0):,} of {int(r['denominator'] or 0):,}",
            "target": fmt_target(r["target"], r["target_condition"]),
        }
        for r in sorted(now.values(), key=lambda r: (r["metric"], r["channel"], r["window_days"]))
        if r["low_volume"]
    ]

    status = sc["account_status"]
    feedback_rate = sc["feedback_positive_rate"]
    return {
        "page_size": "A4",
        "seller": {
            "id": sc["seller_id"],
            "name": sc["seller_name"],
            "marketplace": sc["marketplace"],
        },
        "week": str(week),
        "week_start": fmt_date(week.monday),
        "week_end": fmt_date(week.sunday),
        "as_of": fmt_date(as_of),
        "change_since": fmt_date(then_as_of),
        "account_status": status,
        "account_status_label": ACCOUNT_LABELS[status],
        "healthy": status == "healthy",
        "seller_rating": "–" if sc["seller_rating"] is None else f"{sc['seller_rating']:.0f}",
        "feedback_rating": pct(feedback_rate, 0) if feedback_rate is not None else "–",
        "feedback": feedback,
        "channels": CHANNEL_LABELS,
        "scorecard": scorecard,
        "trends": trend_charts(con, seller_id, week),
        "trend_weeks": TREND_WEEKS,
        "odr": {
            "headline": headline,
            "rows": odr_rows,
            "split": split,
            "defective_orders": defective_orders,
            "defective_total": headline["numerator"],
            "defects_shown": DEFECTS_SHOWN,
        },
        "product_lines": product_lines,
        "product_lines_total": product_lines_total,
        "classic": classic,
        "delivery": delivery,
        "messages": messages,
        "perfect": cell("perfect_order_rate", "all", 90),
        "notices": notices,
        "plans": plans,
        "low_volume": low_volume,
    }


def email_summary(context: dict[str, Any]) -> list[dict[str, str]]:
    """The scorecard rows the email body shows (kept in the manifest for delivery)."""
    return [
        {
            "label": row["label"],
            "rate": row["rate"],
            "target": row["target"],
            "status": row["status"],
            "status_label": row["status_label"],
            "change": row["change"]["text"],
            "direction": row["change"]["direction"],
        }
        for row in context["scorecard"]
        if not row["sub"]
    ]
