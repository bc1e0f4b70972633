"""Progress of long steps (pipeline/progress.py): plain lines with counts, rate and time
left when not on a terminal, a rich bar on one; steps are still their line of text."""

from __future__ import annotations

import io
from datetime import date

from pipeline.progress import Reporter, Step, fmt_duration


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_step_is_its_line_of_text():
    step = Step(3, 40, "render", "rendered S0003")
    assert step == "[3/40] rendered S0003"
    assert (step.done, step.total, step.phase) == (3, 40, "render")


def test_plain_lines_off_a_terminal_with_count_rate_and_time_left():
    out, clock = io.StringIO(), Clock()
    report = Reporter(stream=out, interval=5.0, clock=clock)
    assert report.terminal is False  # a StringIO is no terminal
    for i in range(1, 11):
        clock.now += 1.0  # one step a second
        report(Step(i, 10, "build", f"built day {i}"))
    report("published the marts")
    lines = out.getvalue().splitlines()
    # The first step, then at most one line every 5 s, then the last; other lines as they are.
    assert lines[0] == "[1/10] built day 1 (1.0/s, 9s left)"
    assert lines[1] == "[6/10] built day 6 (1.0/s, 4s left)"
    assert lines[2] == "[10/10] built day 10 (1.0/s, took 10s)"
    assert lines[3] == "published the marts"
    assert len(lines) == 4


def test_a_bar_on_a_terminal():
    out = io.StringIO()
    with Reporter(stream=out, terminal=True) as report:
        for i in range(1, 4):
            report(Step(i, 3, "render", f"rendered S{i}"))
    text = out.getvalue()
    assert "render" in text and "3/3" in text and "rendered S3" in text
    # A bar, not the plain lines (which would also contain the above).
    assert "━" in text and "took" not in text


def test_durations():
    assert [fmt_duration(s) for s in (0, 59.4, 61, 3600 + 120)] == ["0s", "59s", "1m01s", "1h02m"]


def test_a_backfill_reports_counted_steps(tmp_path):
    from pipeline.models.runner import run_range
    from pipeline.settings import Settings
    from tests.extracts import order, seller, write_extract

    landing = tmp_path / "landing"
    for day in ("2026-11-20", "2026-11-21"):
        write_extract(landing, day, "sellers", [seller("S1")])
        write_extract(landing, day, "orders", [order(f"O{day[-2:]}", day)])
    settings = Settings(landing, tmp_path / "w.duckdb", tmp_path / "out")
    seen: list[str] = []
    run_range(settings, date(2026, 11, 20), date(2026, 11, 21), progress=seen.append)
    steps = [s for s in seen if isinstance(s, Step)]
    assert [(s.phase, s.done, s.total) for s in steps] == [
        ("load", 1, 2),
        ("load", 2, 2),
        ("build", 1, 2),
        ("build", 2, 2),
    ]
    assert steps[0].startswith("[1/2] loaded 2026-11-20")
