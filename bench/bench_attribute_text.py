"""Attribution from report text, end to end, on AnnoCTR reports that name their actor.

    .venv/bin/python bench/bench_attribute_text.py [--db KB] [--model M]

Truth: the ATT&CK group(s) the AnnoCTR annotators linked most often in a report. Evidence: what
`attribute --text` takes from it (`extract`: techniques through the trained model when given,
software, IOCs, CVEs, sectors, victim countries), never the actor names themselves. Leave-out:
every ATT&CK relationship that cites the report (a reference URL holding the file's slug) is
taken out of the profiles first, so the report cannot vouch for itself. The technique model is
trained on AnnoCTR train, so train reports are listed apart from dev: their techniques were
seen in training. Nothing in the attribution model was fitted or chosen on these reports.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from threatscope.attribution.calibrate import load_calibration
from threatscope.attribution.engine import matrices_for, rank
from threatscope.attribution.evidence import evidence_from_summary, resolve
from threatscope.attribution.masked_eval import without_report
from threatscope.attribution.score import score
from threatscope.extract.document import extract_file
from threatscope.ids import GROUP_URL
from threatscope.store import open_store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))


def truth_groups(links: Path) -> set[str]:
    counts = Counter(m.group(1) for m in GROUP_URL.finditer(links.read_text("utf-8")))
    if not counts:
        return set()
    top = max(counts.values())
    return {group for group, n in counts.items() if n == top}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="ATT&CK + MISP knowledge base")
    parser.add_argument("--model", type=Path, help="technique model (default: explicit ids only)")
    args = parser.parse_args()
    store = open_store(args.db, create=False)
    model = None
    if args.model:
        from threatscope.extract.techniques import load_model

        model = load_model(args.model)
    mats = matrices_for(store)
    profiles = mats.profiles
    actor_of_group = {
        gid: profiles.member_actor[obj]
        for obj, gid in profiles.group_attack_ids.items()
        if obj in profiles.member_actor
    }
    index_of = profiles.actor_index()
    calibration = load_calibration()
    results: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for split in ("dev", "train"):
        for links in sorted((DATA / "text/annoctr" / split).glob("*.links.jsonl")):
            groups = truth_groups(links)
            truth = {index_of[actor_of_group[g]] for g in groups if g in actor_of_group}
            if not truth:
                continue
            text = links.with_name(links.name.replace(".links.jsonl", ".txt"))
            slug = text.stem.split("_", 2)[2]
            case_mats, removed = without_report(mats, store, slug)
            summary = extract_file(text, store, model).summary()
            evidence = resolve(evidence_from_summary(summary), profiles)
            scores = score(evidence, case_mats)
            index, probs, _ = rank(scores, calibration)
            order = index[np.argsort(-probs, kind="stable")]
            shares: dict[str, float] = defaultdict(float)
            for actor_index, p in zip(index, probs, strict=True):
                if profiles.actors[int(actor_index)].nexus:
                    shares[profiles.actors[int(actor_index)].nexus] += float(p)
            truth_nexus = next(
                (profiles.actors[t].nexus for t in truth if profiles.actors[t].nexus), None
            )
            row = {
                "report": text.stem[:60],
                "truth": "/".join(profiles.actors[t].name for t in sorted(truth)),
                "predicted": profiles.actors[int(order[0])].name if order.size else None,
                "p_top": float(probs.max()) if probs.size else 0.0,
                "top1": bool(order.size and int(order[0]) in truth),
                "top3": bool(truth & {int(a) for a in order[:3]}),
                "truth_nexus": truth_nexus,
                "nexus": max(shares, key=shares.get) if shares else None,
                "evidence": {k: len(v) for k, v in evidence.items.items() if v},
                "removed": removed,
            }
            results[split].append(row)
            print(
                f"{split:5} {row['report']:60} truth {row['truth'][:22]:22}"
                f" -> {str(row['predicted'])[:22]:22} p {row['p_top']:.2f}"
                f" top1 {row['top1']!s:5} nexus {row['nexus']}/{truth_nexus}"
                f" evidence {row['evidence']} (left out {removed} relationships)",
                flush=True,
            )
    for split, rows in results.items():
        with_nexus = [r for r in rows if r["truth_nexus"]]
        print(
            f"{split}: n {len(rows)}, top-1 {np.mean([r['top1'] for r in rows]):.3f},"
            f" top-3 {np.mean([r['top3'] for r in rows]):.3f}, nexus"
            f" {np.mean([r['nexus'] == r['truth_nexus'] for r in with_nexus]):.3f}"
            f" (n {len(with_nexus)})"
        )


if __name__ == "__main__":
    main()
