"""Every metric of the registry reaches the marts: its rows in seller_metrics, its
scorecard columns, and the data dictionary's table."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.models import registry
from tests.sql.test_metrics import warehouse  # noqa: F401  (the shared fixture)

DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data_dictionary.md"


def test_every_registry_metric_has_its_rows_and_columns(warehouse):  # noqa: F811
    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    try:
        rows = set(
            con.execute(
                "select distinct metric, channel, window_days from marts.seller_metrics"
            ).fetchall()
        )
        scorecard = {r[0] for r in con.execute("describe marts.seller_scorecard").fetchall()}
    finally:
        con.close()
    assert rows == {
        (m.code, channel, window)
        for m in registry.reported()
        for channel in m.channels
        for window in m.windows
    }
    for m in registry.metrics():
        if m.scorecard:
            assert m.code in scorecard, m.code
        if m.scorecard in ("status", "count"):
            assert f"{m.code}_status" in scorecard, m.code


def test_every_reported_metric_is_in_the_data_dictionary():
    text = DICTIONARY.read_text(encoding="utf-8")
    for m in registry.reported():
        assert f"| `{m.code}` |" in text, m.code
