"""Render batches run side by side, as Airflow's mapped batches do on two Celery workers.

Rendering reads the published snapshot, never the warehouse, so two render processes and
a build (which holds DuckDB's single writer lock on the warehouse) run at the same time
with no lock error, and the newsletters are the same bytes as a serial run's."""

from __future__ import annotations

import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from pipeline.ingest.load import load_day
from pipeline.models.build import _build
from pipeline.models.snapshot import publish_snapshot
from pipeline.newsletter.render import render_week
from pipeline.settings import Settings
from pipeline.synthetic import generate
from pipeline.warehouse import open_warehouse
from pipeline.weeks import IsoWeek

END = date(2026, 11, 22)
WEEK = IsoWeek.parse("2026-W47")
WAIT = 300  # seconds: a backstop against a hang, never a pause


def _render_batch(settings: Settings, sellers: list[str], together: Any) -> list[str]:
    """One Airflow render task: renders its batch in this process (a Celery worker's)."""
    seen: list[str] = []

    def after_each(line: str) -> None:
        seen.append(line)
        if len(seen) == 1:
            # This batch has rendered its first newsletter and has more to go: wait until
            # the other batch is at the same point and the build is running.
            together.wait(WAIT)

    result = render_week(settings, WEEK, sellers, progress=after_each, workers=1)
    assert not result.failed, result.failed
    return [r.seller_id for r in result.newsletters]


def test_two_render_batches_in_two_processes_beside_a_build(settings, tmp_path):
    generate(settings.landing_dir, sellers=6, days=3, end_date=END, seed=5)
    for k in (2, 1, 0):
        load_day(settings, END - timedelta(days=k))
    with open_warehouse(settings.warehouse) as con:
        _build(con, settings, END)
    publish_snapshot(settings)

    serial = render_week(replace(settings, out_dir=tmp_path / "serial"), WEEK, workers=1)
    sellers = sorted(r.seller_id for r in serial.newsletters)
    assert len(sellers) == 6

    parallel = replace(settings, out_dir=tmp_path / "parallel")
    locked, stop = threading.Event(), threading.Event()
    builds: list[str] = []
    errors: list[BaseException] = []

    def build_meanwhile() -> None:
        """A build holding the warehouse's writer lock from before the renders start
        until after they end, rebuilding the Sunday again and again."""
        try:
            with open_warehouse(settings.warehouse) as con:
                locked.set()
                while not stop.is_set():
                    builds.append(_build(con, settings, END).mode)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
            locked.set()

    builder = threading.Thread(target=build_meanwhile)
    builder.start()
    try:
        assert locked.wait(WAIT) and not errors, errors
        ctx = multiprocessing.get_context("spawn")
        with ctx.Manager() as manager, ProcessPoolExecutor(2, mp_context=ctx) as workers:
            # Both batches and this test meet here: both renders are under way at once.
            together = manager.Barrier(3)
            batches = [sellers[:3], sellers[3:]]
            futures = [workers.submit(_render_batch, parallel, b, together) for b in batches]
            together.wait(WAIT)
            assert builder.is_alive() and not errors  # ... and the build holds the lock
            done = [f.result(timeout=WAIT) for f in futures]
    finally:
        stop.set()
        builder.join(WAIT)
    assert not errors, errors
    assert builds, "no build ran beside the renders"
    assert done == batches

    serial_dir = serial.folder
    parallel_dir = parallel.newsletter_dir(str(WEEK))
    for seller_id in sellers:
        for suffix in (".pdf", ".html"):
            a = (serial_dir / f"{seller_id}{suffix}").read_bytes()
            b = (parallel_dir / f"{seller_id}{suffix}").read_bytes()
            assert a == b, f"{seller_id}{suffix} differs from the serial run's"
    # Two processes merged their entries into one manifest: the serial run's.
    assert json.loads((parallel_dir / "manifest.json").read_text()) == json.loads(
        (serial_dir / "manifest.json").read_text()
    )
