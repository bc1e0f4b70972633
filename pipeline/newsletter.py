"""Render each seller's weekly Customer Experience newsletter (SPEC §6) to HTML and PDF.

`render_week` reads the marts as of the week's Sunday, builds one plain dict per seller
(every number already formatted: templates do no arithmetic), renders
`reports/templates/newsletter.html.j2` with autoescaping, and prints it with WeasyPrint.
Rendering is a pure function of the warehouse: a rerun writes the same files.

Safety: every value from the extracts is escaped by Jinja's autoescape, and the PDF
renderer's URL fetcher refuses everything except files inside the templates folder, so
a product name like `<img src="file:///etc/passwd">` is shown as text and fetches nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
import jinja2

from pipeline.charts import Point, trend_svg
from pipeline.errors import CxnError, NotBuiltError
from pipeline.settings import TEMPLATES_DIR, Settings
from pipeline.warehouse import first_row, open_warehouse, scalar
from pipeline.weeks import IsoWeek

log = logging.getLogger(__name__)

STATUS_LABELS = {"good": "Good", "fair": "Fair", "poor": "Poor", "none": "No data"}
ACCOUNT_LABELS = {"healthy": "Healthy", "at_risk": "At risk", "critical": "Critical"}
CHANNEL_LABELS = {
    "all": "All orders",
    "MFN": "Seller-fulfilled (MFN)",
    "AFN": "Fulfilled by marketplace (AFN)",
}
ODR_WINDOW_LABELS = {30: "Short-term", 60: "Headline", 90: "Long-term"}


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
    return f"{start:%d %b %Y} – {end:%d %b %Y}"


def fmt_target(target: float | None, condition: str | None) -> str:
    if target is None:
        return "–"
    sign = "<" if condition == "LESS_THAN" else "≥"
    return f"{sign} {pct(target, 1 if target * 1000 % 10 else 0)}"


# ---------------------------------------------------------------------------------------
# The safe URL fetcher


class TemplatesOnlyFetcher:
    """A WeasyPrint URL fetcher that serves files inside the templates folder, nothing else.

    Remote URLs, `file:` URLs elsewhere and every other scheme are refused (WeasyPrint
    logs the refusal and renders without the resource). Refusals are kept for the log.
    """

    def __init__(self, root: Path = TEMPLATES_DIR) -> None:
        self.root = root.resolve()
        self.refused: list[str] = []
        self.fetched: list[str] = []
        from weasyprint.urls import URLFetcher

        self._inner = URLFetcher(allowed_protocols={"file"})
        self._fail_on_errors = False

    def __call__(self, url: str) -> Any:
        return self.fetch(url)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                self.fetched.append(url)
                return self._inner.fetch(url, headers)
        self.refused.append(url)
        raise ValueError(f"refused to fetch {url!r}: only files inside the templates folder")


# ---------------------------------------------------------------------------------------
# Context


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _metric_cell(row: dict[str, Any]) -> dict[str, Any]:
    status = row["status"]
    # Numerators are DOUBLE in the mart (avg_response_hours holds hours); counts are whole.
    numerator = int(row["numerator"]) if row["numerator"] is not None else 0
    denominator = int(row["denominator"]) if row["denominator"] is not None else 0
    return {
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
    }


# The headline metrics with a trend chart: (metric, channel, window, title).
TREND_METRICS = (
    ("order_defect_rate", "all", 60, "Order defect rate"),
    ("cancellation_rate", "MFN", 7, "Pre-fulfilment cancellation rate"),
    ("late_shipment_rate", "MFN", 30, "Late shipment rate"),
    ("valid_tracking_rate", "MFN", 30, "Valid tracking rate"),
    ("on_time_delivery_rate", "MFN", 14, "On-time delivery rate"),
    ("contact_response_rate", "all", 30, "Buyer messages answered within 24 h"),
    ("perfect_order_rate", "all", 90, "Perfect order percentage"),
)
TREND_WEEKS = 13


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


def seller_context(con: duckdb.DuckDBPyConnection, seller_id: str, week: IsoWeek) -> dict[str, Any]:
    """Everything one seller's newsletter shows, formatted, from that seller's rows only."""
    as_of = week.as_of
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
        "select * from marts.seller_metrics where seller_id = ? and as_of_date = ? "
        "order by metric, window_days, channel",
        [seller_id, as_of],
    )
    by_key = {(m["metric"], m["channel"], m["window_days"]): m for m in metrics}

    odr_rows = []
    for days, label in ODR_WINDOW_LABELS.items():
        cells = {ch: _metric_cell(by_key[("order_defect_rate", ch, days)]) for ch in CHANNEL_LABELS}
        odr_rows.append({"label": f"{label} ({days} days)", "headline": days == 60, "cells": cells})
    headline = _metric_cell(by_key[("order_defect_rate", "all", 60)])
    split = [
        {"label": label, **_metric_cell(by_key[(metric, "all", 60)])}
        for metric, label in (
            ("negative_feedback_rate", "Negative feedback"),
            ("claim_rate", "A-to-z Guarantee claims"),
            ("chargeback_rate", "Service chargebacks"),
        )
    ]
    defects = _rows(
        con,
        "select order_id, purchase_date, sku, product_line, fulfillment_channel, "
        "is_negative_feedback, is_counting_claim, is_service_chargeback "
        "from marts.defective_orders where seller_id = ? and as_of_date = ? "
        "order by purchase_date desc, order_id limit 15",
        [seller_id, as_of],
    )
    defective_orders = [
        {
            "order_id": d["order_id"],
            "purchase_date": fmt_date(d["purchase_date"]),
            "sku": d["sku"],
            "product_line": d["product_line"],
            "channel": d["fulfillment_channel"],
            "defects": ", ".join(
                name
                for name, flag in (
                    ("negative feedback", d["is_negative_feedback"]),
                    ("A-to-z claim", d["is_counting_claim"]),
                    ("chargeback", d["is_service_chargeback"]),
                )
                if flag
            ),
        }
        for d in defects
    ]
    status = sc["account_status"]
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
        "account_status": status,
        "account_status_label": ACCOUNT_LABELS[status],
        "seller_rating": "–" if sc["seller_rating"] is None else f"{sc['seller_rating']:.0f}",
        "channels": CHANNEL_LABELS,
        "trends": trend_charts(con, seller_id, week),
        "trend_weeks": TREND_WEEKS,
        "odr": {
            "headline": headline,
            "rows": odr_rows,
            "split": split,
            "defective_orders": defective_orders,
            "defective_total": headline["numerator"],
        },
    }


# ---------------------------------------------------------------------------------------
# Rendering


def template_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html", "j2", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(context: dict[str, Any], env: jinja2.Environment | None = None) -> str:
    env = env or template_env()
    return env.get_template("newsletter.html.j2").render(**context)


def render_pdf(html: str, fetcher: TemplatesOnlyFetcher | None = None) -> bytes:
    import weasyprint

    fetcher = fetcher or TemplatesOnlyFetcher()
    document = weasyprint.HTML(
        string=html, base_url=str(TEMPLATES_DIR) + os.sep, url_fetcher=fetcher
    )
    pdf = document.write_pdf()
    if fetcher.refused:
        log.warning(
            "refused %d resource(s) while printing: %s", len(fetcher.refused), fetcher.refused[:3]
        )
    assert pdf is not None
    return pdf


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Rendered:
    seller_id: str
    html_path: Path
    pdf_path: Path
    pdf_sha256: str


@dataclass(frozen=True)
class RenderResult:
    week: IsoWeek
    folder: Path
    newsletters: list[Rendered] = field(default_factory=list)


def latest_recipients(con: duckdb.DuckDBPyConnection, seller_id: str) -> list[str]:
    """The seller's newest email addresses (delivery uses the latest known, not the as-of)."""
    row = first_row(
        con,
        "select email from raw.sellers where seller_id = ? "
        "order by last_updated_at desc, _load_date desc, _line desc limit 1",
        [seller_id],
    )
    if not row or not row[0]:
        return []
    return [a.strip() for a in row[0].split(";") if a.strip()]


def render_week(
    settings: Settings,
    week: IsoWeek,
    sellers: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> RenderResult:
    """Render every (or the given) seller's newsletter for `week` into the out folder.

    Side effects: writes `{out}/newsletters/{week}/{seller}.html|.pdf` and `manifest.json`
    (atomically, file by file). Idempotent: same warehouse, same files. Layout is CPU
    bound, so sellers are spread over `workers` processes (default: one per core).
    """
    as_of = week.as_of
    folder = settings.newsletter_dir(str(week))
    with open_warehouse(settings.warehouse, read_only=True) as con:
        built = scalar(
            con,
            "select count(*) from ops.build_log where as_of_date = ? and status = 'built'",
            [as_of],
        )
        if not built:
            raise NotBuiltError(
                f"no metrics as of {as_of} (the Sunday of {week}); "
                f"run `cxn build --as-of {as_of}` first"
            )
        known = [
            r[0]
            for r in con.execute(
                "select seller_id from marts.seller_scorecard where as_of_date = ? order by 1",
                [as_of],
            ).fetchall()
        ]
    if sellers:
        unknown = sorted(set(sellers) - set(known))
        if unknown:
            raise CxnError(f"seller {unknown[0]} is not known as of {as_of}")
        targets = [s for s in known if s in set(sellers)]
    else:
        targets = known

    workers = workers or min(os.cpu_count() or 1, max(1, len(targets) // 8))
    results: list[tuple[Rendered, dict[str, Any]]] = []
    if workers <= 1:
        results = _render_batch(settings, week, targets, progress)
    else:
        # spawn, not fork: a forked child would inherit DuckDB's and WeasyPrint's state.
        ctx = multiprocessing.get_context("spawn")
        batches = [targets[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_render_batch, settings, week, b) for b in batches if b]
            for future in futures:
                results += future.result()
                if progress:
                    progress(f"rendered {len(results)}/{len(targets)}")
        results.sort(key=lambda r: r[0].seller_id)
    _merge_manifest(folder, week, [entry for _, entry in results])
    log.info("rendered week=%s newsletters=%d folder=%s", week, len(results), folder)
    return RenderResult(week, folder, [r for r, _ in results])


def _render_batch(
    settings: Settings,
    week: IsoWeek,
    seller_ids: list[str],
    progress: Callable[[str], None] | None = None,
) -> list[tuple[Rendered, dict[str, Any]]]:
    """Render some sellers' newsletters on this process's own read-only connection."""
    folder = settings.newsletter_dir(str(week))
    env = template_env()
    out: list[tuple[Rendered, dict[str, Any]]] = []
    with open_warehouse(settings.warehouse, read_only=True) as con:
        for i, seller_id in enumerate(seller_ids, 1):
            context = seller_context(con, seller_id, week)
            context["page_size"] = settings.paper_size
            html = render_html(context, env)
            pdf = render_pdf(html)
            html_path = folder / f"{seller_id}.html"
            pdf_path = folder / f"{seller_id}.pdf"
            write_atomic(html_path, html.encode("utf-8"))
            write_atomic(pdf_path, pdf)
            sha = hashlib.sha256(pdf).hexdigest()
            entry = {
                "seller_id": seller_id,
                "seller_name": context["seller"]["name"],
                "recipients": latest_recipients(con, seller_id),
                "account_status": context["account_status"],
                "as_of_date": week.as_of.isoformat(),
                "html": html_path.name,
                "pdf": pdf_path.name,
                "pdf_sha256": sha,
                "summary": {
                    "order_defect_rate": context["odr"]["headline"]["rate"],
                    "order_defect_rate_status": context["odr"]["headline"]["status"],
                },
            }
            out.append((Rendered(seller_id, html_path, pdf_path, sha), entry))
            if progress:
                progress(f"[{i}/{len(seller_ids)}] rendered {seller_id}")
    return out


def _merge_manifest(folder: Path, week: IsoWeek, entries: list[dict[str, Any]]) -> None:
    """Keep one manifest per week; rendering a subset of sellers updates their entries."""
    path = folder / "manifest.json"
    existing: dict[str, Any] = {}
    if path.is_file():
        existing = {e["seller_id"]: e for e in json.loads(path.read_text())["newsletters"]}
    for entry in entries:
        existing[entry["seller_id"]] = entry
    doc = {
        "week": str(week),
        "as_of_date": week.as_of.isoformat(),
        "newsletters": [existing[k] for k in sorted(existing)],
    }
    write_atomic(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def read_manifest(settings: Settings, week: IsoWeek) -> list[dict[str, Any]]:
    path = settings.newsletter_dir(str(week)) / "manifest.json"
    if not path.is_file():
        raise NotBuiltError(
            f"no newsletters rendered for {week}; run `cxn render --week {week}` first"
        )
    return list(json.loads(path.read_text())["newsletters"])
