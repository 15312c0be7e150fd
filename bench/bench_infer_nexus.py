"""How well `landscape --infer-nexus` guesses a nexus from what an incident records.

    .venv/bin/python bench/bench_infer_nexus.py [--db KB] [--csv EUREPOC_GLOBAL_DB]

Ground truth: EuRepoC Global Database incidents whose source names a state or state-affiliated
initiator with a country. The knowledge base (default: a fresh one with ATT&CK Enterprise and
the MISP galaxy) holds no incidents, so no incident can vouch for itself. Each incident is
attributed from its victim sectors and countries, initial-access techniques and year only, as
`--infer-nexus` does; the top nexus is compared with the stated one. Baseline in the same run:
always answering the most common nexus among these incidents.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from threatscope.attribution import attribute, make_evidence
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "kb.db"
            store = open_store(db)
            run_import(store, "attack", DATA / "attack/enterprise-attack-18.1.json")
            run_import(store, "misp-galaxy", DATA / "misp-galaxy/threat-actor.json")
        else:
            store = open_store(db, create=False)
        cases = []
        for obj in load_eurepoc(args.csv):
            if obj["type"] != "incident" or not obj.get("x_threatscope_first_seen"):
                continue
            stated = {
                i["country"]
                for i in obj["x_threatscope_initiators"]
                if i["category"] in ("state", "state-affiliated") and i["country"]
            }
            if len(stated) != 1:
                continue
            victims = obj["x_threatscope_victims"]
            cases.append(
                (
                    stated.pop(),
                    make_evidence(
                        techniques=[],
                        sectors=sorted({s for v in victims for s in v["sectors"]}),
                        victim_countries=sorted({v["country"] for v in victims if v["country"]}),
                        first_seen=obj["x_threatscope_first_seen"][:7],
                    ),
                )
            )
        truth_counts = Counter(truth for truth, _ in cases)
        majority, majority_n = truth_counts.most_common(1)[0]
        began = time.perf_counter()
        right = brier = 0.0
        confident = confident_right = 0
        for truth, evidence in cases:
            result = attribute(store, evidence, top=1)
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
        print(f"{n} incidents with one stated state nexus ({dict(truth_counts.most_common(5))})")
        print(
            f"inferred top nexus = stated: {right / n:.3f}; majority baseline ({majority}):"
            f" {majority_n / n:.3f}; nexus Brier {brier / n:.3f};"
            f" 'likely' or better in {confident} cases, right in {confident_right};"
            f" {time.perf_counter() - began:.1f} s"
        )
        store.close()


if __name__ == "__main__":
    main()
