"""Attribution from report text with the actor's names masked (issue 12, item 5).

    .venv/bin/python bench/bench_attribute_masked.py --db KB [--model M] [--split dev|train|all]

AnnoCTR reports whose annotators linked a mention to an ATT&CK group; every name of that actor
replaced by "the threat actor"; the report's own ATT&CK relationships left out of the profiles;
then what `threatscope attribute --text` runs (attribution/masked_eval.py). Prints each case,
then per split top-1, top-3 and nexus accuracy beside the baselines of the same run. The
technique model is trained on AnnoCTR train: dev is the held-out split, train is listed apart.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from threatscope.attribution.masked_eval import evaluate_masked
from threatscope.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="ATT&CK + MISP knowledge base")
    parser.add_argument("--model", type=Path, help="technique model (default: explicit ids only)")
    parser.add_argument("--split", choices=("dev", "train", "all"), default="all")
    args = parser.parse_args()
    store = open_store(args.db, create=False, read_only=True)
    model = None
    if args.model:
        from threatscope.extract.techniques import load_model

        model = load_model(args.model)
    result = evaluate_masked(store, args.split, model)
    for split, figures in result["splits"].items():
        for case in figures["cases"]:
            print(
                f"{split:5} {case['report'][:58]:58} truth {'/'.join(case['truth'])[:24]:24}"
                f" -> {str(case['predicted'])[:22]:22} p {case['probability']:.2f}"
                f" top1 {case['top1']!s:5} nexus {case['nexus']}/{case['truth_nexus']}"
                f" masked {case['replacements']:3} evidence {case['evidence']}"
                + (f" named {case['named_actors']}" if case["named_actors"] else "")
            )
    print(f"technique model: {result['technique_model']}")
    for split, figures in result["splits"].items():
        base = figures["baselines"]
        print(
            f"{split}: {figures['reports']} of {figures['reports_read']} reports qualify,"
            f" {figures['replacements']} names masked;"
            f" ThreatScope top-1 {figures['top1']:.3f} top-3 {figures['top3']:.3f}"
            f" nexus {figures['nexus']:.3f} (n {figures['reports_with_nexus']})"
        )
        print(
            f"{split}: baselines: Jaccard top-1 {base['jaccard']['top1']:.3f}"
            f" top-3 {base['jaccard']['top3']:.3f}; most ATT&CK techniques top-1"
            f" {base['most_techniques']['top1']:.3f} top-3 {base['most_techniques']['top3']:.3f};"
            f" majority nexus ({base['majority_nexus']['nexus']})"
            f" {base['majority_nexus']['accuracy']:.3f}; chance top-1 {base['chance']['top1']:.3f}"
            f" top-3 {base['chance']['top3']:.3f}"
        )


if __name__ == "__main__":
    main()
