"""The tails of the status rules (pipeline/models/stats.py) against scipy, which stays a test
dependency only: importing scipy.stats cost a build 2-3 s."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as scipy_stats

from pipeline.models import stats


def _close(ours: np.ndarray, theirs: np.ndarray) -> None:
    shown = theirs > 1e-250  # below that both are zero for every purpose
    assert np.all(np.abs(ours[shown] - theirs[shown]) <= 1e-8 * theirs[shown])
    assert np.all(ours[~shown] < 1e-240)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_binomial_tails_match_scipy(seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 200_000, 4000).astype(float)
    n[:400] = rng.integers(1, 30, 400)  # small samples, where the low-volume rule lives
    x = np.minimum(np.floor(rng.random(4000) * (n + 2)), n + 1)
    p = rng.choice([0.01, 0.025, 0.04, 0.05, 0.1, 0.25, 0.8, 0.9, 0.95], 4000)
    _close(stats.binom_sf(x, n, p), scipy_stats.binom.sf(x - 1, n, p))
    _close(stats.binom_cdf(x, n, p), scipy_stats.binom.cdf(x, n, p))


def test_poisson_tail_matches_scipy():
    rng = np.random.default_rng(7)
    lam = np.concatenate([[0.5, 0.5, 0.5], rng.random(4000) * 200])
    x = np.concatenate([[0, 1, 3], rng.integers(0, 300, 4000)]).astype(float)
    _close(stats.poisson_sf(x, lam), scipy_stats.poisson.sf(x - 1, lam))


def test_hand_computed_values():
    # P(X >= 3 | Bin(4, 0.25)) = 4 * 0.25^3 * 0.75 + 0.25^4 = 0.05078125
    assert stats.binom_sf(np.array([3.0]), np.array([4.0]), np.array([0.25]))[0] == (
        pytest.approx(0.05078125, rel=1e-12)
    )
    # P(X <= 2 | Bin(4, 0.9)) = 1 - 0.9^4 - 4 * 0.9^3 * 0.1 = 0.0523
    assert stats.binom_cdf(np.array([2.0]), np.array([4.0]), np.array([0.9]))[0] == (
        pytest.approx(0.0523, rel=1e-12)
    )
    # P(Y >= 3 | Poisson(0.5)) = 1 - e^-0.5 (1 + 0.5 + 0.125)
    expected = 1 - np.exp(-0.5) * 1.625
    assert stats.poisson_sf(np.array([3.0]), np.array([0.5]))[0] == pytest.approx(expected)
    # The edges: nothing to exceed, or more than possible.
    assert list(stats.binom_sf(np.array([0.0, 5.0]), np.array([4.0, 4.0]), 0.3)) == [1.0, 0.0]
    assert list(stats.binom_cdf(np.array([-1.0, 4.0]), np.array([4.0, 4.0]), 0.3)) == [0.0, 1.0]


def test_a_build_does_not_import_scipy():
    code = (
        "import sys, pipeline.models.build, pipeline.cli, pipeline.ingest.load, "
        "pipeline.models.snapshot; "
        "print('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
