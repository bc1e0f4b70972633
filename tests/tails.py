"""Binomial and Poisson tails for the premises of hand-computed tests, written out here
apart from the pipeline's own (pipeline/models/stats.py), so a test checks them too."""

from __future__ import annotations

from math import comb, exp, factorial


def binom_sf(x: int, n: int, p: float) -> float:
    """P(X >= x) for X ~ Binomial(n, p)."""
    return sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(x, n + 1))


def poisson_sf(x: int, lam: float) -> float:
    """P(Y >= x) for Y ~ Poisson(lam)."""
    return 1 - sum(exp(-lam) * lam**k / factorial(k) for k in range(x))
