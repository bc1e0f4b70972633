"""The Seller Performance JSON export (SPEC §5).

`seller_performance_report` fills Amazon's V2 Seller Performance report structure
(`accountHealthReport-2020-11-18.json`) from `marts.seller_metrics`, `marts.seller_scorecard`
and `marts.seller_notices` of one seller and as-of date, so tools built for Amazon's report
read ours. Mapping choices (also in docs/data_dictionary.md):

* statuses: good -> GOOD, fair and poor -> BAD, none -> NONE;
* account status: healthy -> NORMAL, at_risk and critical -> AT_RISK (the pipeline never
  deactivates anyone);
* `marketplaceId` is the seller's marketplace code from the sellers extract;
* which metric fills which field, and the names of its counts, is the `export` entry of
  the metric in reference/metrics.toml (its headline window and channel);
* a rate with no data is 0 with status NONE; what we have no data for (invoice defects,
  warnings) carries zero counts and status NONE;
* listing-level violations are the seller's notices of the matching category issued in
  the 180-day policy window (target 0, EQUALS).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from pipeline.errors import CxnError, NotBuiltError
from pipeline.models import registry
from pipeline.settings import Settings
from pipeline.warehouse import open_warehouse

STATUS = {"good": "GOOD", "fair": "BAD", "poor": "BAD", "none": "NONE"}
ACCOUNT = {"healthy": "NORMAL", "at_risk": "AT_RISK", "critical": "AT_RISK"}

# Amazon's listing-level violation fields and the notice categories that feed them.
VIOLATIONS = {
    "listingPolicyViolations": ("listing_policy",),
    "productAuthenticityCustomerComplaints": ("authenticity",),
    "productConditionCustomerComplaints": ("product_condition",),
    "productSafetyCustomerComplaints": ("product_safety",),
    "receivedIntellectualPropertyComplaints": ("ip_complaint",),
    "restrictedProductPolicyViolations": ("restricted_product",),
    "suspectedIntellectualPropertyViolations": (),
    "foodAndProductSafetyIssues": (),
    "otherPolicyViolations": ("other",),
    "documentRequests": (),
}


def _range(start: date, end: date) -> dict[str, str]:
    return {"reportingDateFrom": f"{start}T00:00Z", "reportingDateTo": f"{end}T23:59Z"}


def _count(value: Any) -> int:
    return int(value or 0)


def _metric(rows: dict[tuple[str, str, int], dict[str, Any]], key: tuple[str, str, int]) -> dict:
    try:
        return rows[key]
    except KeyError:
        raise NotBuiltError(f"marts.seller_metrics has no row {key}") from None


def _rated(row: dict[str, Any]) -> dict[str, Any]:
    # A metric whose target an operator removed from the reference file: 0, and the
    # condition its direction gives (Amazon's schema requires both).
    direction = registry.metric(row["metric"]).direction
    return {
        "reportingDateRange": _range(row["window_start"], row["window_end"]),
        "status": STATUS[row["status"]],
        "rate": float(row["rate"] or 0.0),
        "targetValue": float(row["target"] or 0.0),
        "targetCondition": row["target_condition"]
        or ("LESS_THAN" if direction == "lower" else "GREATER_THAN"),
    }


def _odr(rows: dict[tuple[str, str, int], dict[str, Any]], channel: str) -> dict[str, Any]:
    odr = _metric(rows, ("order_defect_rate", channel, 60))

    def part(metric: str) -> dict[str, Any]:
        return {
            "count": _count(_metric(rows, (metric, channel, 60))["numerator"]),
            "status": "NONE",
        }

    return {
        **_rated(odr),
        "orderCount": _count(odr["denominator"]),
        "orderWithDefects": {"count": _count(odr["numerator"]), "status": STATUS[odr["status"]]},
        "claims": part("claim_rate"),
        "chargebacks": part("chargeback_rate"),
        "negativeFeedback": part("negative_feedback_rate"),
        "fulfillmentType": channel.lower(),
    }


def seller_performance_report(
    con: duckdb.DuckDBPyConnection, seller_id: str, as_of: date
) -> dict[str, Any]:
    """The report for one seller as of a date, as a JSON-ready dict."""
    cur = con.execute(
        "select * from marts.seller_scorecard where seller_id = ? and as_of_date = ?",
        [seller_id, as_of],
    )
    names = [d[0] for d in cur.description]
    found = cur.fetchall()
    if not found:
        known = con.execute(
            "select count(*) from marts.seller_scorecard where as_of_date = ?", [as_of]
        ).fetchall()[0][0]
        if not known:
            raise NotBuiltError(f"nothing built as of {as_of}; run `cxn build --as-of {as_of}`")
        raise CxnError(f"seller {seller_id} is not known as of {as_of}")
    card = dict(zip(names, found[0], strict=True))

    cur = con.execute(
        "select * from marts.seller_metrics where seller_id = ? and as_of_date = ?",
        [seller_id, as_of],
    )
    names = [d[0] for d in cur.description]
    rows = {
        (r["metric"], r["channel"], r["window_days"]): r
        for r in (dict(zip(names, row, strict=True)) for row in cur.fetchall())
    }
    by_category = dict(
        con.execute(
            "select category, count(*) from marts.seller_notices "
            "where seller_id = ? and as_of_date = ? group by category",
            [seller_id, as_of],
        ).fetchall()
    )
    notices_row = _metric(rows, ("policy_notices", "all", 180))
    notice_range = _range(notices_row["window_start"], notices_row["window_end"])

    late = _metric(rows, ("late_shipment_rate", "MFN", 30))
    marketplace = card["marketplace"]
    ahr = "GREAT" if card["account_status"] == "healthy" else "WARNED"

    metrics: dict[str, Any] = {
        "marketplaceId": marketplace,
        "orderDefectRate": {"mfn": _odr(rows, "MFN"), "afn": _odr(rows, "AFN")},
    }
    for m in registry.metrics():
        if not m.export or m.code == "order_defect_rate":
            continue
        row = _metric(rows, (m.code, m.headline_channel, m.headline or 0))
        metrics[m.export["field"]] = {
            **_rated(row),
            m.export["denominator"]: _count(row["denominator"]),
            m.export["numerator"]: _count(row["numerator"]),
        }
    metrics |= {
        # No invoice data in the extracts: zero counts, status NONE.
        "invoiceDefectRate": {
            "reportingDateRange": _range(late["window_start"], late["window_end"]),
            "orderCount": 0,
            "invoiceDefect": {"count": 0, "status": "NONE"},
            "missingInvoice": {"count": 0, "status": "NONE"},
            "lateInvoice": {"count": 0, "status": "NONE"},
            "status": "NONE",
            "rate": 0.0,
            "targetValue": 0.05,
            "targetCondition": "LESS_THAN",
        },
        "warningStates": [],
        # Amazon's schema requires `ahrStatus` but declares `accountHealthRatingStatus`;
        # both are sent, with the same value.
        "accountHealthRating": {
            "reportingDateRange": notice_range,
            "ahrStatus": ahr,
            "accountHealthRatingStatus": ahr,
        },
    }
    for field_name, categories in VIOLATIONS.items():
        count = sum(_count(by_category.get(c)) for c in categories)
        metrics[field_name] = {
            "reportingDateRange": notice_range,
            "defectsCount": count,
            "status": "BAD" if count else "GOOD",
            "targetValue": 0,
            "targetCondition": "EQUALS",
        }
    return {
        "accountStatuses": [
            {"marketplaceId": marketplace, "status": ACCOUNT[card["account_status"]]}
        ],
        "performanceMetrics": [metrics],
    }


def export_report(settings: Settings, seller_id: str, as_of: date) -> dict[str, Any]:
    """Open the warehouse read-only and build the report (no side effects)."""
    with open_warehouse(settings.warehouse, read_only=True) as con:
        return seller_performance_report(con, seller_id, as_of)
