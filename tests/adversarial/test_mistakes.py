"""A careless operator destroys nothing: the demo and generate keep what they did not write."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.demo import run_demo
from pipeline.errors import CxnError
from pipeline.synthetic import GENERATED_MANIFEST, generate, generated_here
from tests.adversarial.conftest import settings_in, small_marketplace, tree_digest

END = date(2026, 11, 24)  # a Tuesday: the demo's last full week is 2026-W47


def test_the_demo_reruns_on_its_own_output_and_refuses_anything_else(tmp_path):
    settings = settings_in(tmp_path)
    first = run_demo(settings, end_date=END, sellers=3, days=15)
    landing = tree_digest(settings.landing_dir)
    assert generated_here(settings.landing_dir)

    again = run_demo(settings, end_date=END, sellers=3, days=15)  # no --force needed
    assert tree_digest(settings.landing_dir) == landing
    assert (again["sent"], again["account_status"]) == (first["sent"], first["account_status"])

    # An operator drops a real extract into the demo's landing zone: the demo stops.
    (settings.landing_dir / "dt=2026-11-24" / "refunds.csv").write_text("refund_id\n")
    before = tree_digest(tmp_path)
    with pytest.raises(CxnError, match="holds extracts the demo did not generate"):
        run_demo(settings, end_date=END, sellers=3, days=15)
    assert tree_digest(tmp_path) == before


def test_the_demo_refuses_a_warehouse_it_did_not_create_before_writing_anything(tmp_path):
    from pipeline.ingest.load import load_day

    settings = settings_in(tmp_path)
    small_marketplace(settings.landing_dir)
    load_day(settings, date(2026, 11, 22))
    demo = settings_in(tmp_path / "demo")
    demo = demo.__class__(**{**demo.__dict__, "warehouse": settings.warehouse})
    before = tree_digest(tmp_path)
    with pytest.raises(CxnError, match="holds a warehouse the demo did not create"):
        run_demo(demo, end_date=END, sellers=3, days=15)
    assert tree_digest(tmp_path) == before
    assert not (tmp_path / "demo").exists()


def test_generate_replaces_extracts_only_when_forced(tmp_path):
    small_marketplace(tmp_path)
    before = tree_digest(tmp_path)
    with pytest.raises(CxnError, match="already holds extracts"):
        generate(tmp_path, sellers=2, days=2, end_date=END)
    assert tree_digest(tmp_path) == before

    result = generate(tmp_path, sellers=2, days=2, end_date=END, force=True)
    assert sorted(p.name for p in tmp_path.glob("dt=*")) == ["dt=2026-11-23", "dt=2026-11-24"]
    assert (tmp_path / GENERATED_MANIFEST).is_file() and generated_here(tmp_path)
    assert result.files > 0
    # A generated file changed by hand is no longer the generator's.
    next(tmp_path.glob("dt=*/orders.csv")).write_text("order_id\n")
    assert not generated_here(tmp_path)
