"""Choose the attribution model's smoothing on tuning data only, and refit its calibration.

    .venv/bin/python bench/tune_attribution.py --db KB [--write]

For each smoothing setting the calibration (T, b) is fitted on the attack-reports protocol with
calibration.FIT_SEEDS, then scored on the same protocol with TUNING_SEED (1002). The reporting
seeds (0, 1, 2) and the campaigns protocol are never looked at here. With --write the best
setting's calibration is saved to attribution/calibration.json (the Params default must be set
to the printed winner by hand, so the choice is visible in the code).
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

from threatscope.attribution import engine
from threatscope.attribution.calibrate import Calibration, save_calibration
from threatscope.attribution.evaluate import evaluate_attribution, fit_calibration
from threatscope.attribution.profiles import build_profiles
from threatscope.attribution.score import Params, build_matrices
from threatscope.store import open_store

TUNING_SEED = 1002


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    store = open_store(args.db, create=False)
    profiles = build_profiles(store)
    results = []
    for mu_software, mu_technique in itertools.product((2.0, 5.0, 10.0, 25.0), (60.0, 150.0)):
        base = Params()
        params = replace(base, mu={**base.mu, "software": mu_software, "technique": mu_technique})
        engine._MATRICES.clear()
        engine._MATRICES[id(profiles)] = (profiles, build_matrices(profiles, params))
        fitted = fit_calibration(store, write=False)
        calibration = Calibration(fitted["temperature"], fitted["unknown_logit"], fitted)
        metrics = evaluate_attribution(
            store, "attack-reports", (TUNING_SEED,), calibration=calibration
        )
        row = (mu_software, mu_technique, metrics["top1"], metrics["nexus_accuracy"],
               metrics["brier_multiclass"], calibration)
        results.append(row)
        print(f"mu software {mu_software:>4} technique {mu_technique:>5}: top1 {row[2]:.3f}"
              f" nexus {row[3]:.3f} multi-Brier {row[4]:.3f}"
              f" (T {calibration.temperature:.3f}, b {calibration.unknown_logit:.2f})", flush=True)
    best = min(results, key=lambda r: r[4])
    print(f"best by multi-class Brier: mu software {best[0]}, technique {best[1]}")
    if args.write:
        print(f"wrote {save_calibration(best[5])}")


if __name__ == "__main__":
    main()
