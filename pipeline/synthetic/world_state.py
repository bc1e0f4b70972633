"""What the parts of the simulated world share: its calendar, random streams and
parameters, and the arrays one part computes and another reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from pipeline.synthetic.vocabulary import (
    _WEEKDAY_FACTOR,
    DAY,
)


@dataclass
class _Table:
    """A dataset's versions: entity index, last_updated_at, folder, sort key, and a renderer."""

    name: str
    entity: np.ndarray
    lu: np.ndarray  # seconds since the first day's 00:00 UTC
    folder: np.ndarray  # day index of the dt folder
    late: np.ndarray
    render: Callable[[np.ndarray, np.ndarray], list[pa.Array]]


def _gap(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return (low + rng.random(n) * (high - low)).astype(np.int64)


class WorldState:
    """The world's time frame and the arrays its parts pass on (sellers to orders to
    after-sale events). `_World` combines the parts."""

    first_date: date
    days: int
    n: int
    seed: int
    epoch: int
    end: int
    n_orders: int
    k_cents: np.ndarray
    k_cum: np.ndarray
    k_quality: np.ndarray
    k_seller: np.ndarray
    k_texts: list[str]
    o_afn: np.ndarray
    o_cancel: np.ndarray
    o_cents: np.ndarray
    o_day: np.ndarray
    o_delivered: np.ndarray
    o_late_delivery: np.ndarray
    o_late_ship: np.ndarray
    o_ldd: np.ndarray
    o_purchased: np.ndarray
    o_seller: np.ndarray
    o_sku: np.ndarray
    s_afn: np.ndarray
    s_base: dict[str, np.ndarray]
    s_first_day: np.ndarray
    s_handling: np.ndarray
    s_market: np.ndarray
    s_onset: np.ndarray
    s_problem: dict[str, np.ndarray]
    s_profile: np.ndarray
    s_recover: np.ndarray
    s_volume: np.ndarray

    def __init__(self, first_date: date, days: int, n_sellers: int, seed: int) -> None:
        self.first_date = first_date
        self.days = days
        self.n = n_sellers
        self.seed = seed
        self.epoch = (first_date - date(1970, 1, 1)).days * DAY
        self.end = days * DAY - 1
        self.n_orders = 0

    def rng(self, stream: int) -> np.random.Generator:
        # One independent stream per component: changing one part of the model leaves the
        # random draws of the others as they were.
        return np.random.default_rng([self.seed, stream])

    # .. calendar ..................................................................................

    def _calendar(self) -> tuple[np.ndarray, np.ndarray]:
        dates = [self.first_date + timedelta(days=d) for d in range(self.days)]
        weekday = np.array([d.weekday() for d in dates])
        doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
        season = 1.0 + 0.08 * np.sin(2 * np.pi * (doy - 100) / 365.25)
        # Holiday peak centred on early December, plus Black Friday to Cyber Monday.
        season += 0.45 * np.exp(-0.5 * ((doy - 340) / 14) ** 2)
        for i, d in enumerate(dates):
            if d.month == 11:
                thanksgiving = 22 + (3 - date(d.year, 11, 1).weekday()) % 7
                if thanksgiving + 1 <= d.day <= thanksgiving + 4:
                    season[i] += 0.5
        return _WEEKDAY_FACTOR[weekday] * season, weekday

    # .. sellers ...................................................................................

    def _param(self, key: str, seller: np.ndarray, day: np.ndarray) -> np.ndarray:
        active = (day >= self.s_onset[seller]) & (day < self.s_recover[seller])
        return np.where(active, self.s_problem[key][seller], self.s_base[key][seller])
