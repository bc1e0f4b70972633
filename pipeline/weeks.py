"""ISO weeks, written `YYYY-Www`; a week's newsletter reports as of its Sunday (SPEC §1)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.errors import CxnError

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        m = _WEEK.match(text.strip())
        if not m:
            raise CxnError(f"week {text!r} is not an ISO week like 2026-W47")
        year, week = int(m.group(1)), int(m.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise CxnError(
                f"week {text!r} does not exist (year {year} has no week {week})"
            ) from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def last_full_week(cls, day: date) -> IsoWeek:
        """The latest week whose Sunday is on or before `day`."""
        return cls.of(day - timedelta(days=day.isoweekday() % 7))

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    @property
    def as_of(self) -> date:
        return self.sunday

    def minus(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday - timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"
