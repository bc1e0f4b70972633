"""Malformed rows, written on purpose so the loader's rejections are exercised."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from pipeline.schema import DATASETS
from pipeline.synthetic.vocabulary import MALFORMED_MIN_ROWS
from pipeline.synthetic.world_state import _Table

log = logging.getLogger(__name__)


# --- malformed rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BadRow:
    """A row the loader must reject: `line` is its 1-based record position after the header."""

    dataset: str
    dt: date
    line: int
    kind: str


@dataclass(frozen=True)
class _Defects:
    """How a dataset's rows can be broken on purpose."""

    event: str  # first event column: an impossible date, or a time after last_updated_at
    empty: str  # a required column to leave empty
    dup: str  # the column a duplicate (same key and last_updated_at) changes
    enum: tuple[str, str] | None = None  # column, value outside its enum
    range: tuple[str, str] | None = None  # column, value outside its range
    seller: str | None = None  # column to point at a seller that does not exist


_CORRUPT = {
    "orders": _Defects("purchased_at", "sku", "quantity", ("order_status", "shipped?"),
                       ("quantity", "-1"), "seller_id"),
    "shipments": _Defects("ship_confirmed_at", "carrier", "carrier"),
    "cancellations": _Defects("cancelled_at", "initiated_by", "initiated_by",
                              ("initiated_by", "carrier")),
    "refunds": _Defects("refunded_at", "order_id", "amount", range=("amount", "-5.00")),
    "feedback": _Defects("left_at", "removed", "rating", range=("rating", "7")),
    "claims": _Defects("filed_at", "order_id", "status", ("status", "escalated")),
    "chargebacks": _Defects("filed_at", "kind", "status", ("kind", "friendly_fraud")),
    "messages": _Defects("received_at", "thread_id", "no_response_needed", seller="seller_id"),
    "notices": _Defects("issued_at", "subject", "severity", ("severity", "urgent"),
                        seller="seller_id"),
}  # fmt: skip
_KINDS = (
    "bad_enum",
    "out_of_range",
    "impossible_date",
    "unknown_seller",
    "empty_required",
    "event_after_update",
    "duplicate_key",
)
_KIND_SPEC = {
    "bad_enum": "enum",
    "out_of_range": "range",
    "impossible_date": "event",
    "unknown_seller": "seller",
    "empty_required": "empty",
    "event_after_update": "event",
    "duplicate_key": "dup",
}


@dataclass(frozen=True)
class _Bad:
    kind: str
    row: int  # index of the source row in the file


def _plan_malformed(
    tables: dict[str, _Table], days: int, rng: np.random.Generator
) -> dict[tuple[str, int], _Bad]:
    """Pick files of >= 200 rows and one bad row each, cycling through the kinds."""
    sizes = {
        name: np.bincount(t.folder, minlength=days)
        for name, t in tables.items()
        if name in _CORRUPT
    }
    wanted = min(40, max(len(_KINDS), days // 15))
    plan: dict[tuple[str, int], _Bad] = {}
    for i in range(wanted):
        kind = _KINDS[i % len(_KINDS)]
        candidates = [
            (name, day)
            for name, spec in _CORRUPT.items()
            if getattr(spec, _KIND_SPEC[kind]) is not None
            for day in np.flatnonzero(sizes[name] >= MALFORMED_MIN_ROWS).tolist()
            if (name, day) not in plan
        ]
        if not candidates:
            continue
        name, day = candidates[int(rng.integers(0, len(candidates)))]
        plan[(name, day)] = _Bad(kind, int(rng.integers(0, sizes[name][day])))
    return plan


def _alternative(dataset: str, column: str, value: str) -> str:
    """A different valid value for a duplicate row."""
    enum = DATASETS[dataset].column(column).enum
    if enum:
        return enum[(enum.index(value) + 1) % len(enum)] if value in enum else enum[0]
    if value in ("true", "false"):
        return "false" if value == "true" else "true"
    if column == "amount":
        return f"{float(value) + 1:.2f}"
    if column in ("quantity", "rating"):
        return str(int(value) % 5 + 1)
    return "DHL" if value != "DHL" else "UPS"


def _corrupt(dataset: str, kind: str, row: dict[str, str]) -> dict[str, str]:
    spec = _CORRUPT[dataset]
    bad = dict(row)
    key = DATASETS[dataset].key[0]
    if kind != "duplicate_key":
        bad[key] = row[key] + "-X"  # a fresh record: only its own defect gets it rejected
    lu = datetime.strptime(row["last_updated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if kind == "bad_enum" and spec.enum:
        bad[spec.enum[0]] = spec.enum[1]
    elif kind == "out_of_range" and spec.range:
        bad[spec.range[0]] = spec.range[1]
    elif kind == "impossible_date":
        bad[spec.event] = f"{lu.year}-02-30T{lu:%H:%M:%S}Z"
    elif kind == "unknown_seller" and spec.seller:
        bad[spec.seller] = "S0000"  # ids start at S0001
    elif kind == "empty_required":
        bad[spec.empty] = ""
    elif kind == "event_after_update":
        bad[spec.event] = f"{lu + timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}"
    elif kind == "duplicate_key":
        bad[spec.dup] = _alternative(dataset, spec.dup, row[spec.dup])
    else:
        raise ValueError(f"{kind} does not apply to {dataset}")
    return bad
