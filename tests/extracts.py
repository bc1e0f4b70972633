"""Write small hand-made extracts into a landing zone, the way the marketplace would."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.schema import DATASETS


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
