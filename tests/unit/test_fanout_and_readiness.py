"""The weekly fan-out stays within Airflow's mapping limit, and the daily sensor's check
waits for `_SUCCESS` and fails with the missing file once the deadline is past."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline.errors import LoadError
from pipeline.ingest.load import extracts_ready
from pipeline.newsletter.render import seller_batches


@pytest.mark.parametrize(
    ("sellers", "batches", "largest"),
    [
        (0, 0, 0),
        (1, 1, 1),
        (50, 1, 50),
        (51, 2, 50),
        (2_000, 40, 50),
        (50_000, 1_000, 50),
        (50_001, 981, 51),  # 51 per batch: ceil(50,001 / 1,000)
        (100_000, 1_000, 100),
    ],
)
def test_batches_cover_every_seller_once_and_never_exceed_1000(sellers, batches, largest):
    ids = [f"S{i:06d}" for i in range(sellers)]
    got = seller_batches(ids)
    assert len(got) == batches <= 1000
    assert max((len(b) for b in got), default=0) == largest
    assert [s for b in got for s in b] == ids


D = date(2026, 11, 22)
DAY_END = datetime(2026, 11, 23, tzinfo=UTC)


def test_sensor_check_waits_then_succeeds_on_the_marker(settings):
    folder = settings.landing_dir / "dt=2026-11-22"
    folder.mkdir(parents=True)
    (folder / "orders.csv").write_text("order_id\n")  # files without the marker: not ready
    now = DAY_END + timedelta(hours=1)
    assert extracts_ready(settings, D, now=now, deadline=timedelta(hours=12)) is False
    (folder / "_SUCCESS").touch()
    assert extracts_ready(settings, D, now=now, deadline=timedelta(hours=12)) is True


def test_sensor_check_fails_clearly_after_the_deadline(settings):
    late = DAY_END + timedelta(hours=12, seconds=1)
    with pytest.raises(LoadError) as err:
        extracts_ready(settings, D, now=late, deadline=timedelta(hours=12))
    message = str(err.value)
    assert "dt=2026-11-22/_SUCCESS" in message and "12:00:00 after 2026-11-22" in message
    # Exactly at the deadline it still waits.
    at = DAY_END + timedelta(hours=12)
    assert extracts_ready(settings, D, now=at, deadline=timedelta(hours=12)) is False


def test_build_refuses_a_day_while_an_earlier_one_is_unloaded(settings):
    from pipeline.errors import BuildError
    from pipeline.ingest.load import load_day
    from pipeline.models.build import require_history_loaded
    from tests.extracts import seller, write_extract

    for day in ("2026-11-20", "2026-11-21", "2026-11-22"):
        write_extract(settings.landing_dir, day, "sellers", [seller("S1")])
    load_day(settings, date(2026, 11, 20))
    load_day(settings, date(2026, 11, 22))
    with pytest.raises(
        BuildError, match="day 2026-11-21 is not loaded, so a build as of 2026-11-22"
    ):
        require_history_loaded(settings, date(2026, 11, 22))
    require_history_loaded(settings, date(2026, 11, 20))  # nothing missing before it
    load_day(settings, date(2026, 11, 21))
    require_history_loaded(settings, date(2026, 11, 22))
