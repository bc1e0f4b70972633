"""The metric registry (reference/metrics.toml) and what is generated from it or reads it
agree: the checked-in models, the targets, the newsletter's words, the export, the docs.
The marts side (every registry metric has rows) is tests/sql/test_registry_marts.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.models import registry
from pipeline.newsletter import context

SCHEMA = (
    Path(os.environ.get("CXN_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
    / "reference/amazon/accountHealthReport-2020-11-18.json"
)


def test_generated_models_and_docs_are_up_to_date():
    stale = registry.stale()
    assert not stale, f"stale (run `make models`): {[str(p) for p in stale]}"


def test_every_metric_with_a_target_has_its_scorecard_row_guidance_and_plan():
    targets = registry.default_targets()
    assert targets, "reference/metric_targets.csv has no default rows"
    for code, row in targets.items():
        m = registry.metric(code)
        assert m.reported and not m.counts_only, code
        assert m.scorecard == "status" and m.scorecard_rows, code
        assert m.how and m.plan_now and m.plan_later and m.bad and m.noun, code
        assert len(m.bad_events) == 2, f"{code}: bad_events names the outlook's bad events"
        expected = "LESS_THAN" if m.direction == "lower" else "GREATER_THAN"
        assert row["target_condition"] == expected, code


def test_every_reported_metric_is_explained_to_sellers():
    for m in registry.reported():
        explained_by = registry.metric(m.part_of) if m.part_of else m
        assert explained_by.how, f"{m.code}: no `how` text and not part_of an explained metric"
        assert m.summary and m.label, m.code
    shown = {name for name, *_ in context.HOW_COMPUTED}
    assert {m.label for m in registry.metrics() if m.how} == shown


def test_newsletter_rows_follow_the_registry():
    rows = {(m.metric, m.channel) for m in context.SCORECARD}
    assert rows == {(m.code, channel) for m in registry.metrics() for channel in m.scorecard_rows}
    # Every rate on the scorecard has a trend chart (its first row).
    charted = {metric for metric, *_ in context.TREND_METRICS}
    assert charted == {
        m.code for m in registry.metrics() if m.scorecard_rows and m.unit == "percent"
    }


def test_export_fields_exist_in_amazons_schema():
    if not SCHEMA.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{SCHEMA} is missing: CI must have shared/ beside the checkout")
        pytest.skip(f"{SCHEMA} not found (set CXN_SHARED_DIR)")
    schema = json.loads(SCHEMA.read_text())
    fields = schema["properties"]["performanceMetrics"]["items"]["properties"]
    exported = [m for m in registry.metrics() if m.export]
    assert {m.export["field"] for m in exported} >= {"orderDefectRate", "unitOnTimeDeliveryRate"}
    for m in exported:
        field = fields[m.export["field"]]
        for count in (m.export.get("numerator"), m.export.get("denominator")):
            if count:
                assert count in field["properties"], (m.code, count)


def test_a_registry_mistake_is_one_clear_line(tmp_path):
    bad = tmp_path / "metrics.toml"
    bad.write_text(
        '[key_dates]\npurchase_date = { label = "purchase date", source = "orders" }\n'
        '[[metric]]\ncode = "x_rate"\nlabel = "X"\nkey_date = "purchase_date"\n'
        'channels = ["all"]\nwindows = [30]\nnumerater = "is_x"\n'
    )
    with pytest.raises(registry.RegistryError, match=r"metric x_rate: unknown field.*numerater"):
        registry.metrics(bad)
