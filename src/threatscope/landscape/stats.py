"""The statistics behind every landscape figure: interval for a share, tests for a change and
the correction for testing many nexuses at once."""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["compare_counts", "compare_shares", "holm", "poisson_at_most", "wilson_interval"]

# scipy is imported inside the tests that need it: importing scipy.stats at module level costs
# every `threatscope` command about 3 s.
_Z95 = NormalDist().inv_cdf(0.975)


def wilson_interval(successes: float, total: float, z: float = _Z95) -> tuple[float, float]:
    """95% Wilson score interval for successes/total. Unlike the normal approximation it stays
    inside [0, 1] and behaves for small n and shares near 0 or 1; it also accepts the
    fractional counts `--count fractional` produces (scipy's binomtest takes integers only)."""
    if total <= 0:
        return (0.0, 1.0)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def compare_shares(k_now: float, n_now: float, k_before: float, n_before: float) -> float | None:
    """Two-sided Fisher exact p-value that a share differs between two windows (None if either
    window is empty). Fractional counts are rounded: the test needs whole incidents."""
    if n_now <= 0 or n_before <= 0:
        return None
    import numpy as np
    from scipy import stats

    a, c = round(k_now), round(k_before)
    table = np.array([[a, max(0, round(n_now) - a)], [c, max(0, round(n_before) - c)]])
    return float(stats.fisher_exact(table).pvalue)


def compare_counts(now: int, before: int) -> float | None:
    """Two-sided p-value that incident rates differ between two windows of equal length
    (exact conditional binomial test of now out of now + before at 1/2)."""
    if now + before == 0:
        return None
    from scipy import stats

    return float(stats.binomtest(now, now + before, 0.5).pvalue)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values, in the order given (None, an untested row, stays None
    and does not count as a test). The i-th smallest of m p-values becomes
    max over j <= i of min(1, (m - j + 1) * p_(j)): it controls the chance of any false
    "significant" across the family, and is uniformly more powerful than Bonferroni."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[index] = running
    return adjusted


def poisson_at_most(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean): how surprising a count this low is at that rate."""
    if mean <= 0:
        return 1.0
    from scipy import stats

    return float(stats.poisson.cdf(k, mean))
