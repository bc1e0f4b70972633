"""Write small hand-made extracts into a landing zone, the way the marketplace would."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.schema import DATASETS
from pipeline.settings import REFERENCE_DIR


def write_extract(landing: Path, day: date | str, dataset: str, rows: list[dict[str, Any]]) -> Path:
    """Write `rows` as `{landing}/dt=day/{dataset}.csv`; missing columns are empty (NULL)."""
    folder = landing / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dataset}.csv"
    columns = DATASETS[dataset].column_names
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            unknown = set(row) - set(columns)
            assert not unknown, f"{dataset} has no column {unknown}"
            writer.writerow([_text(row.get(c)) for c in columns])
    return path


def empty_extracts() -> dict[str, list[dict[str, Any]]]:
    """One empty list of rows per dataset, to fill and pass to `write_day`."""
    return {name: [] for name in DATASETS}


def write_day(landing: Path, day: date | str, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Write every dataset that has rows into the day's folder."""
    for dataset, dataset_rows in rows.items():
        if dataset_rows:
            write_extract(landing, day, dataset, dataset_rows)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def seller(seller_id: str = "S1", **kw: Any) -> dict[str, Any]:
    row = {
        "seller_id": seller_id,
        "seller_name": f"Shop {seller_id}",
        "email": f"{seller_id.lower()}@example.com",
        "marketplace": "US",
        "registered_date": "2026-01-01",
        "last_updated_at": "2026-01-01T00:00:00Z",
    }
    row.update(kw)
    return row


def order(
    order_id: str,
    purchased: str,
    *,
    seller_id: str = "S1",
    channel: str = "MFN",
    updated: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """An order purchased at `purchased` (ISO date or timestamp)."""
    at = purchased if "T" in purchased else f"{purchased}T10:00:00Z"
    day = date.fromisoformat(at[:10])
    row = {
        "order_id": order_id,
        "seller_id": seller_id,
        "purchased_at": at,
        "last_updated_at": updated or at,
        "order_status": "unshipped",
        "fulfillment_channel": channel,
        "product_line": "Toys",
        "sku": "SKU-1",
        "quantity": 1,
        "item_price": "10.00",
        "currency": "USD",
        "latest_ship_date": None if channel == "AFN" else date.fromordinal(day.toordinal() + 2),
        "latest_delivery_date": None if channel == "AFN" else date.fromordinal(day.toordinal() + 7),
    }
    row.update(kw)
    return row


def _ts(value: str) -> str:
    return value if "T" in value else f"{value}T12:00:00Z"


def shipment(order_id: str, confirmed: str, **kw: Any) -> dict[str, Any]:
    row = {
        "order_id": order_id,
        "ship_confirmed_at": _ts(confirmed),
        "carrier": "UPS",
        "tracking_id": f"TRK-{order_id}",
        "first_scan_at": _ts(confirmed),
        "delivered_at": None,
    }
    row.update(kw)
    stamps = [row[k] for k in ("ship_confirmed_at", "first_scan_at", "delivered_at") if row[k]]
    row.setdefault("last_updated_at", max(stamps))
    return row


def cancellation(order_id: str, at: str, by: str, **kw: Any) -> dict[str, Any]:
    row = {
        "order_id": order_id,
        "cancelled_at": _ts(at),
        "initiated_by": by,
        "reason": None,
        "last_updated_at": _ts(at),
    }
    row.update(kw)
    return row


def refund(refund_id: str, order_id: str, at: str, amount: str = "5.00") -> dict[str, Any]:
    return {
        "refund_id": refund_id,
        "order_id": order_id,
        "refunded_at": _ts(at),
        "amount": amount,
        "reason": None,
        "last_updated_at": _ts(at),
    }


def feedback(order_id: str, left: str, rating: int, **kw: Any) -> dict[str, Any]:
    row = {
        "order_id": order_id,
        "left_at": _ts(left),
        "rating": rating,
        "comment": None,
        "removed": False,
    }
    row.update(kw)
    row.setdefault("last_updated_at", row["left_at"])
    return row


def message(
    message_id: str,
    received: str,
    response: str | None = None,
    *,
    seller_id: str = "S1",
    thread_id: str | None = None,
    order_id: str | None = None,
    no_response_needed: bool = False,
    verdict: str | None = None,
    updated: str | None = None,
) -> dict[str, Any]:
    """A buyer message; `verdict` (solved / not_solved) with `updated`: the later version
    that brings the buyer's verdict on the reply."""
    return {
        "message_id": message_id,
        "thread_id": thread_id or f"T-{message_id}",
        "seller_id": seller_id,
        "order_id": order_id,
        "received_at": _ts(received),
        "first_response_at": _ts(response) if response else None,
        "no_response_needed": no_response_needed,
        "buyer_verdict": verdict,
        "last_updated_at": _ts(updated or response or received),
    }


def notice(
    notice_id: str,
    seller_id: str,
    issued: str,
    severity: str,
    *,
    read: str | None = None,
    resolved: str | None = None,
    category: str = "listing_policy",
) -> dict[str, Any]:
    stamps = [_ts(x) for x in (issued, read, resolved) if x]
    return {
        "notice_id": notice_id,
        "seller_id": seller_id,
        "issued_at": _ts(issued),
        "category": category,
        "severity": severity,
        "subject": f"Notice {notice_id}",
        "read_at": _ts(read) if read else None,
        "resolved_at": _ts(resolved) if resolved else None,
        "last_updated_at": max(stamps),
    }


def reference_with(folder: Path, *target_rows: str) -> Path:
    """A copy of reference/ in `folder`, with `target_rows` (CSV lines, no newline) added
    to its metric_targets.csv; returns the copy's metric_targets.csv."""
    reference = folder / "reference"
    shutil.copytree(REFERENCE_DIR, reference)
    targets = reference / "metric_targets.csv"
    targets.write_text(targets.read_text() + "".join(f"{row}\n" for row in target_rows))
    return targets
