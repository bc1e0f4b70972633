"""Progress of long steps: what `cxn run`, `render`, `send` and `demo` show while they work.

The pipeline's functions take a `progress` callback of one line of text. A counted step
passes a `Step`: still that line of text (`[3/40] rendered S0003`), so any callback that
prints or collects lines keeps working, but it also carries its count, total and phase.

`Reporter` is the command line's callback:

- On a terminal, it draws one bar per phase with rich (count, rate, time left). rich is
  maintained, already installed with Airflow, and redraws in place without a thread of
  ours.
- Anywhere else (a log file, Airflow's task log, a pipe), it writes plain lines instead.
  It writes the first and last step of a phase and at most one line every few seconds in
  between, each with the count, rate and time left.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any


class Step(str):
    """A counted step of a phase, as its line of text."""

    done: int
    total: int
    phase: str

    def __new__(cls, done: int, total: int, phase: str, what: str) -> Step:
        step = super().__new__(cls, f"[{done}/{total}] {what}")
        step.done, step.total, step.phase = done, total, phase
        return step


def fmt_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


@dataclass
class _Phase:
    started: float
    last_line: float = 0.0
    task: Any = None


@dataclass
class Reporter:
    """Shows `Step`s as progress bars on a terminal, or as plain lines elsewhere; other
    lines are printed as they are. Use as a context manager (it closes the bars)."""

    stream: IO[str] = field(default_factory=lambda: sys.stderr)
    interval: float = 5.0  # seconds between plain lines of one phase
    terminal: bool | None = None  # None: ask the stream
    clock: Any = time.monotonic
    _phases: dict[str, _Phase] = field(default_factory=dict)
    _bars: Any = None
    _last_event: float = 0.0

    def __post_init__(self) -> None:
        if self.terminal is None:
            self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_event = self.clock()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def __call__(self, line: str) -> None:
        started, self._last_event = self._last_event, self.clock()
        if isinstance(line, Step):
            self._step(line, started)
        elif self._bars is not None:
            self._bars.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self.stream, flush=True)

    def _step(self, step: Step, previous_event: float) -> None:
        """A phase's clock starts with the event before its first step (its work began
        then), so the first line already has a rate."""
        now = self._last_event
        phase = self._phases.get(step.phase)
        if phase is None or step.done <= 1:
            phase = self._phases[step.phase] = _Phase(started=previous_event)
        if self.terminal:
            self._bar(step, phase)
            return
        last = step.done >= step.total
        if step.done > 1 and not last and now - phase.last_line < self.interval:
            return
        phase.last_line = now
        elapsed = now - phase.started
        rate = step.done / elapsed if elapsed > 0 else 0.0
        left = (step.total - step.done) / rate if rate > 0 else 0.0
        if last:
            timing = f"{rate:.1f}/s, took {fmt_duration(elapsed)}"
        else:
            timing = f"{rate:.1f}/s, {fmt_duration(left)} left"
        print(f"{step} ({timing})", file=self.stream, flush=True)

    def _bar(self, step: Step, phase: _Phase) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class RateColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(f"{task.speed:.1f}/s" if task.speed else "–/s")

        if self._bars is None:
            self._bars = Progress(
                TextColumn("{task.description:<9}"),
                BarColumn(),
                MofNCompleteColumn(),
                RateColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[what]}"),
                console=Console(file=self.stream, force_terminal=True),
            )
            self._bars.start()
        if phase.task is None:
            phase.task = self._bars.add_task(step.phase, total=step.total, what="")
        what = str(step).split("] ", 1)[-1]
        self._bars.update(phase.task, completed=step.done, total=step.total, what=what)
