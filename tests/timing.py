"""Linear time, as issue 11 asks: work on an input of size 4n grows at most ~4x that of n.

Timings on a shared 2-core machine are noisy, so each size takes the best of a few runs, the
bound is generous (8x for a 4x input, where a quadratic parser shows 16x and a cubic one 64x),
and inputs too small to time (under 50 ms at 4n) pass: they prove nothing either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(run: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def assert_linear(
    work: Callable[[str], object], make: Callable[[int], str], n: int, attempts: int = 3
) -> None:
    """`work(make(4n))` takes at most 8x `work(make(n))` (plus a floor for timer noise).

    A busy machine (other processes on 2 cores) can stretch one measurement; a super-linear
    parser fails every attempt, so the check passes as soon as one attempt is within bounds.
    """
    small, large = make(n), make(4 * n)
    ratios = []
    for _ in range(attempts):
        t_small = best_time(lambda: work(small))
        t_large = best_time(lambda: work(large))
        if t_large <= max(8 * t_small, 0.05):
            return
        ratios.append(f"{t_small:.4f} s -> {t_large:.4f} s")
    raise AssertionError(
        f"size {len(small)} vs {len(large)}: more than 8x for 4x the input in every attempt "
        f"({'; '.join(ratios)})"
    )
