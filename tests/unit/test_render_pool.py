"""The render process pool works whatever the parent's main script is.

Found by running the weekly DAG under `make airflow`: a batch of 25 sellers rendered on
two spawned processes, and each child re-ran the parent's `__main__` (the `airflow`
command), which cannot start in a bare child, so the pool broke. This reproduces it
without Airflow: a main script that refuses to be imported a second time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date, timedelta

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.models.snapshot import publish_snapshot
from pipeline.synthetic import generate

MAIN = textwrap.dedent(
    """
    import sys
    if __name__ != "__main__":
        raise RuntimeError("the main script must not be re-imported by a worker")

    from pathlib import Path
    from pipeline.newsletter.render import render_week
    from pipeline.settings import Settings
    from pipeline.weeks import IsoWeek

    root = Path(sys.argv[1])
    settings = Settings(landing_dir=root / "landing", warehouse=root / "warehouse.duckdb",
                        out_dir=root / "out")
    result = render_week(settings, IsoWeek.parse("2026-W47"), workers=2)
    print(len(result.newsletters))
    """
)


def test_pool_renders_under_a_main_script_that_cannot_be_rerun(settings, tmp_path):
    end = date(2026, 11, 22)
    generate(settings.landing_dir, sellers=4, days=3, end_date=end, seed=5)
    for k in (2, 1, 0):
        load_day(settings, end - timedelta(days=k))
    build(settings, end)
    publish_snapshot(settings)
    script = tmp_path / "main_like_airflow.py"
    script.write_text(MAIN)
    done = subprocess.run(
        [sys.executable, str(script), str(settings.warehouse.parent)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "4"
    assert "must not be re-imported" not in done.stderr
    assert len(list((settings.out_dir / "newsletters" / "2026-W47").glob("*.pdf"))) == 4


def test_main_module_is_restored_after_the_pool_started():
    from pipeline.newsletter.render import _main_not_rerun

    main = sys.modules["__main__"]
    before = (main.__dict__.get("__file__"), main.__dict__.get("__spec__"))
    with _main_not_rerun():
        assert getattr(main, "__file__", None) is None and main.__spec__ is None
    assert (main.__dict__.get("__file__"), main.__dict__.get("__spec__")) == before
