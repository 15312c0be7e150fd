"""Choose the victimology constants on the tuning half of EuRepoC, never on the test half.

    .venv/bin/python bench/tune_victimology.py [--db KB]

Victimology (sectors, countries) and the nexus level of smoothing are what attribute an incident
when all it records is who was hit, as `landscape --infer-nexus` does. The ATT&CK protocols
cannot choose them (their evidence is techniques and software), so they are chosen here: the
incidents of bench/bench_infer_nexus.py's `tune` split, scored by nexus Brier. For each setting
the calibration is refitted on the attack-reports fitting seeds, as shipped. The `test` split,
which bench_infer_nexus.py reports, is never looked at.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_infer_nexus import DATA, knowledge_base, load_cases, measure
from threatscope.attribution.calibrate import Calibration
from threatscope.attribution.engine import matrices_for
from threatscope.attribution.evaluate import fit_calibration
from threatscope.attribution.score import Params

CSV = DATA / "incidents/eurepoc-1.1/EuRepoC_Global_Database_1.1.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = knowledge_base(args.db or Path(tmp) / "kb.db", fresh=args.db is None)
        cases = load_cases(CSV, "tune")
        results = []
        for nexus_scale, victimology in itertools.product((None, 1.0, 3.0, 10.0), (0.5, 1.0, 1.5)):
            base = Params()
            params = replace(
                base,
                nexus_scale=nexus_scale,
                weight={**base.weight, "sector": victimology, "country": victimology},
            )
            fitted = fit_calibration(store, write=False, params=params)
            calibration = Calibration(
                fitted["temperature"], fitted["unknown_logit"], fitted, fitted["size_exponent"]
            )
            result = measure(store, cases, calibration, matrices_for(store, params))
            results.append((result["brier"], nexus_scale, victimology))
            print(
                f"nexus_scale {nexus_scale!s:>5} victimology weight {victimology}:"
                f" accuracy {result['accuracy']:.3f} (majority {result['majority_accuracy']:.3f})"
                f" nexus Brier {result['brier']:.3f}; likely {result['confident']}"
                f" right {result['confident_right']} (n {result['n']},"
                f" T {calibration.temperature:.2f}, b {calibration.unknown_logit:.2f})",
                flush=True,
            )
        best = min(results, key=lambda r: r[0])
        print(f"best by nexus Brier: nexus_scale {best[1]}, victimology weight {best[2]}")
        store.close()


if __name__ == "__main__":
    main()
