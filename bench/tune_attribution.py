"""Choose the attribution model's smoothing and kind weights on tuning data only, refit calibration.

    .venv/bin/python bench/tune_attribution.py --db KB [--grid mu|weight|cve] [--write]

For each setting the calibration (T, b) is fitted on the attack-reports protocol with
calibration.FIT_SEEDS, then scored on the same protocol with TUNING_SEEDS (1002-1004). The
reporting seeds (0, 1, 2) and the campaigns protocol are never looked at here. With --write the
best setting's calibration is saved to attribution/calibration.json (the Params default must be
set to the printed winner by hand, so the choice is visible in the code).
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

from threatscope.attribution.calibrate import Calibration, save_calibration
from threatscope.attribution.evaluate import evaluate_attribution, fit_calibration
from threatscope.attribution.score import Params
from threatscope.store import open_store

TUNING_SEEDS = (1002, 1003, 1004)
MU_GRID = [
    {"mu": {"software": s, "technique": t}}
    for s, t in itertools.product((2.0, 5.0, 10.0, 25.0), (60.0, 150.0))
]
WEIGHT_GRID = [
    {"weight": {"technique": t, "software": s}}
    for t, s in (
        (1.0, 1.0),
        (0.7, 1.0),
        (1.4, 1.0),
        (1.0, 0.7),
        (1.0, 1.4),
        (1.4, 1.4),
        (0.7, 1.4),
        (0.5, 1.5),
        (0.5, 2.0),
        (0.35, 1.4),
    )
]

# CVEs the held-out sources name are evidence in the attack-reports protocol: smoothing and weight.
CVE_GRID = [
    {"mu": {"cve": m}, "weight": {"cve": w}}
    for m, w in itertools.product((3.0, 10.0), (1.0, 1.4))
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--grid", choices=("mu", "weight", "cve"), default="weight")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    store = open_store(args.db, create=False)
    results = []
    grids = {"mu": MU_GRID, "weight": WEIGHT_GRID, "cve": CVE_GRID}
    for setting in grids[args.grid]:
        base = Params()
        params = replace(base, **{key: {**getattr(base, key), **v} for key, v in setting.items()})
        fitted = fit_calibration(store, write=False, params=params)
        calibration = Calibration(
            fitted["temperature"], fitted["unknown_logit"], fitted, fitted["size_exponent"]
        )
        metrics = evaluate_attribution(
            store, "attack-reports", TUNING_SEEDS, calibration=calibration, params=params
        )
        results.append((metrics["brier_multiclass"], setting, calibration))
        print(
            f"{setting}: top1 {metrics['top1']:.3f} top3 {metrics['top3']:.3f}"
            f" nexus {metrics['nexus_accuracy']:.3f} multi-Brier {metrics['brier_multiclass']:.3f}"
            f" ECE {metrics['ece']:.3f} (T {calibration.temperature:.3f},"
            f" b {calibration.unknown_logit:.2f})",
            flush=True,
        )
    best = min(results, key=lambda r: r[0])
    print(f"best by multi-class Brier: {best[1]}")
    if args.write:
        print(f"wrote {save_calibration(best[2])}")


if __name__ == "__main__":
    main()
