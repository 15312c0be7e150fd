"""How well `landscape --infer-nexus` guesses a nexus from what an incident records.

    .venv/bin/python bench/bench_infer_nexus.py [--db KB] [--csv EUREPOC_GLOBAL_DB]

Ground truth: EuRepoC Global Database incidents whose source names a state or state-affiliated
initiator with a country. The knowledge base (default: a fresh one with ATT&CK Enterprise and
the MISP galaxy) holds no incidents, so no incident can vouch for itself. Each incident is
attributed from its victim sectors and countries, initial-access techniques and year only, as
`--infer-nexus` does; the top nexus is compared with the stated one. Baseline in the same run:
always answering the most common nexus among these incidents.

Incidents are split in two by a hash of their id: `--split tune` is what
bench/tune_victimology.py chooses the victimology constants on; `--split test` (the default) is
what this bench reports, and nothing was ever tuned on it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from threatscope.attribution import Evidence, attribute, make_evidence
from threatscope.attribution.calibrate import Calibration
from threatscope.attribution.score import Matrices
from threatscope.ingest import run_import
from threatscope.sources.eurepoc import load_eurepoc
from threatscope.store import open_store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument(
        "--csv", type=Path, default=DATA / "incidents/eurepoc-1.1/EuRepoC_Global_Database_1.1.csv"
    )
    parser.add_argument("--split", choices=("test", "tune", "all"), default="test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = knowledge_base(args.db or Path(tmp) / "kb.db", fresh=args.db is None)
        cases = load_cases(args.csv, args.split)
        result = measure(store, cases)
        print(
            f"{result['n']} incidents ({args.split} split) with one stated state nexus"
            f" ({result['truth_counts']})"
        )
        print(
            f"inferred top nexus = stated: {result['accuracy']:.3f}; majority baseline"
            f" ({result['majority']}): {result['majority_accuracy']:.3f}; nexus Brier"
            f" {result['brier']:.3f}; 'likely' or better in {result['confident']} cases, right in"
            f" {result['confident_right']}; {result['seconds']:.1f} s"
        )
        store.close()


def knowledge_base(db: Path, fresh: bool) -> Any:
    """ATT&CK Enterprise + the MISP galaxy and no incidents, so none can vouch for itself."""
    if not fresh:
        return open_store(db, create=False)
    store = open_store(db)
    run_import(store, "attack", DATA / "attack/enterprise-attack-18.1.json")
    run_import(store, "misp-galaxy", DATA / "misp-galaxy/threat-actor.json")
    return store


def load_cases(csv: Path, split: str) -> list[tuple[str, Evidence]]:
    cases = []
    for obj in load_eurepoc(csv):
        if obj["type"] != "incident" or not obj.get("x_threatscope_first_seen"):
            continue
        if split != "all" and split_of(obj["id"]) != split:
            continue
        stated = {
            i["country"]
            for i in obj["x_threatscope_initiators"]
            if i["category"] in ("state", "state-affiliated") and i["country"]
        }
        if len(stated) != 1:
            continue
        victims = obj["x_threatscope_victims"]
        evidence = make_evidence(
            techniques=[],
            sectors=sorted({s for v in victims for s in v["sectors"]}),
            victim_countries=sorted({v["country"] for v in victims if v["country"]}),
            first_seen=obj["x_threatscope_first_seen"][:7],
        )
        cases.append((stated.pop(), evidence))
    return cases


def measure(
    store: Any,
    cases: list[tuple[str, Evidence]],
    calibration: Calibration | None = None,
    matrices: Matrices | None = None,
) -> dict[str, Any]:
    """`matrices`: score against these (a tuning run's setting) instead of the default ones."""
    truth_counts = Counter(truth for truth, _ in cases)
    majority, majority_n = truth_counts.most_common(1)[0]
    began = time.perf_counter()
    right = brier = 0.0
    confident = confident_right = 0
    for truth, evidence in cases:
        result = attribute(store, evidence, top=1, calibration=calibration, matrices=matrices)
        probabilities = {row["nexus"]: row["probability"] for row in result["nexus"]}
        top = max(probabilities, key=probabilities.get) if probabilities else None
        right += top == truth
        brier += sum((p - (nexus == truth)) ** 2 for nexus, p in probabilities.items()) + (
            0 if truth in probabilities else 1
        )
        if probabilities and probabilities[top] >= 0.55:
            confident += 1
            confident_right += top == truth
    n = len(cases)
    return {
        "n": n,
        "truth_counts": dict(truth_counts.most_common(5)),
        "accuracy": right / n,
        "majority": majority,
        "majority_accuracy": majority_n / n,
        "brier": brier / n,
        "confident": confident,
        "confident_right": confident_right,
        "seconds": time.perf_counter() - began,
    }


def split_of(incident_id: str) -> str:
    return "tune" if zlib.crc32(incident_id.encode()) % 2 else "test"


if __name__ == "__main__":
    main()
