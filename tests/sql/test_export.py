"""`cxn export`: the Seller Performance JSON validates against Amazon's published schema
(read from ../shared, never copied into the repo) and carries the warehouse's numbers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from pipeline.cli import main
from pipeline.errors import CxnError
from pipeline.export import export_report
from tests.sql.test_metrics import D, warehouse  # noqa: F401  (the shared fixture)

SCHEMA = (
    Path(os.environ.get("CXN_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
    / "reference/amazon/accountHealthReport-2020-11-18.json"
)


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{SCHEMA} is missing: CI must have shared/ beside the checkout")
        pytest.skip(f"{SCHEMA} not found (set CXN_SHARED_DIR)")
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.mark.parametrize("seller_id", ["S2", "S3", "S6", "S10", "S15"])
def test_export_validates_against_amazons_schema(warehouse, validator, seller_id):  # noqa: F811
    report = export_report(warehouse, seller_id, D)
    errors = sorted(validator.iter_errors(report), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:3]]


def test_export_carries_the_warehouse_numbers(warehouse):  # noqa: F811
    metrics = export_report(warehouse, "S3", D)["performanceMetrics"][0]
    assert metrics["validTrackingRate"]["shipmentCount"] == 5
    assert metrics["validTrackingRate"]["validTrackingCount"] == 3
    assert metrics["validTrackingRate"]["status"] == "BAD"  # poor
    assert metrics["validTrackingRate"]["rate"] == 0.6
    assert metrics["validTrackingRate"]["reportingDateRange"] == {
        "reportingDateFrom": "2026-10-22T00:00Z",
        "reportingDateTo": "2026-11-20T23:59Z",
    }
    assert metrics["onTimeDeliveryRate"]["shipmentCountWithValidTracking"] == 3
    assert metrics["onTimeDeliveryRate"]["onTimeDeliveryCount"] == 1
    units = metrics["unitOnTimeDeliveryRate"]
    assert (units["totalUnitCount"], units["unitOnTimeDeliveryCount"]) == (6, 4)
    assert (units["status"], units["targetValue"], units["targetCondition"]) == (
        "GOOD",
        0.9,
        "GREATER_THAN",
    )
    assert units["rate"] == pytest.approx(4 / 6)

    late = export_report(warehouse, "S2", D)["performanceMetrics"][0]["lateShipmentRate"]
    assert (late["orderCount"], late["lateShipmentCount"], late["rate"]) == (5, 3, 0.6)
    assert (late["targetValue"], late["targetCondition"]) == (0.04, "LESS_THAN")


def test_export_odr_split_and_account_status(warehouse):  # noqa: F811
    report = export_report(warehouse, "S14", D)
    assert report["accountStatuses"] == [{"marketplaceId": "US", "status": "AT_RISK"}]
    afn = report["performanceMetrics"][0]["orderDefectRate"]["afn"]
    assert (afn["orderCount"], afn["orderWithDefects"], afn["negativeFeedback"]["count"]) == (
        10,
        {"count": 2, "status": "BAD"},
        2,
    )
    assert report["performanceMetrics"][0]["orderDefectRate"]["mfn"]["status"] == "NONE"


def test_notices_become_listing_violations(warehouse):  # noqa: F811
    metrics = export_report(warehouse, "S6", D)["performanceMetrics"][0]
    assert metrics["listingPolicyViolations"]["defectsCount"] == 2
    assert metrics["listingPolicyViolations"]["status"] == "BAD"
    assert metrics["otherPolicyViolations"]["defectsCount"] == 0
    assert metrics["otherPolicyViolations"]["status"] == "GOOD"


def test_export_cli_writes_a_file_and_refuses_unknown_sellers(warehouse, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "s3.json"
    base = ["--warehouse", str(warehouse.warehouse)]
    assert main([*base, "export", "--seller", "S3", "--as-of", str(D), "--output", str(out)]) == 0
    assert json.loads(out.read_text())["accountStatuses"][0]["status"] == "AT_RISK"
    assert main([*base, "export", "--seller", "NOPE", "--as-of", str(D)]) == 1
    assert "seller NOPE is not known as of 2026-11-20" in capsys.readouterr().err
    with pytest.raises(CxnError, match="nothing built as of 2026-01-01"):
        export_report(warehouse, "S3", D.replace(month=1, day=1))
