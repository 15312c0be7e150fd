"""Precision and recall of the MALWARE and TOOL entities `extract` finds, on AnnoCTR.

    .venv/bin/python bench/bench_entities.py [--db KB] [--split dev] [--show]

Gold: AnnoCTR links each software mention to its ATT&CK page (`label_link` .../software/S0xxx,
entity_type MALWARE or TOOL). AnnoCTR links only ATT&CK software, so only our entities that
resolve to an ATT&CK software object are scored; galaxy-only names are counted apart.

- document level: the set of (S-id) per report, pooled over reports (micro); "typed" also
  requires our kind (malware/tool) to equal the gold entity_type;
- mention level (recall only): a gold mention counts as found when one of our mentions of the
  same S-id covers the place the annotation stands (its left context + mention in the text).

Development figures only: train/dev are what we were given; nothing else is tuned on.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections import defaultdict
from pathlib import Path

from threatscope.extract.entities import build_gazetteer, find_entities
from threatscope.store import open_store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
_SOFTWARE = re.compile(r"attack\.mitre\.org/software/(S\d{4})")
_KIND = {"malware": "MALWARE", "tools": "TOOL"}


def _attack_ids(conn) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(
        conn.execute(
            "SELECT e.object_id, e.external_id FROM external_ids e JOIN objects o"
            " ON o.id = e.object_id WHERE o.type IN ('malware', 'tool')"
            " AND e.source_name = 'mitre-attack'"
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=os.environ.get("THREATSCOPE_DB"))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--show", action="store_true", help="List misses and false hits.")
    args = parser.parse_args()
    store = open_store(Path(args.db), create=False)
    gazetteer = build_gazetteer(store)
    s_ids = _attack_ids(store.analytics())
    folder = DATA / "text" / "annoctr" / args.split
    tp = fp = fn = typed_tp = mentions = mentions_found = galaxy_only = 0
    misses: dict[str, int] = defaultdict(int)
    false_hits: dict[str, int] = defaultdict(int)
    for links in sorted(folder.glob("*.links.jsonl")):
        text = links.with_name(links.name.replace(".links.jsonl", ".txt")).read_text("utf-8")
        gold: dict[str, str] = {}
        spans: list[tuple[str, int]] = []
        for line in links.read_text("utf-8").splitlines():
            row = json.loads(line)
            match = _SOFTWARE.search(str(row.get("label_link") or ""))
            if row["entity_type"] not in ("MALWARE", "TOOL") or not match:
                continue
            gold[match.group(1)] = row["entity_type"]
            left = str(row.get("_context_left") or row.get("context_left") or "")[-30:]
            at = text.find(left + row["mention"])
            spans.append((match.group(1), at + len(left) if at >= 0 else -1))
        found = find_entities(gazetteer, text)
        predicted: dict[str, str] = {}
        covered: set[tuple[str, int]] = set()
        for key, kind in _KIND.items():
            for entity in found[key]:
                s_id = s_ids.get(entity["id"])
                if s_id is None:
                    galaxy_only += 1
                    continue
                predicted[s_id] = kind
        # All mentions, not only the five per entity the summary keeps.
        for mention in gazetteer.find(text, {"malware", "tool"}):
            if mention.key in s_ids:
                covered.add((s_ids[mention.key], mention.start))
        tp += len(gold.keys() & predicted.keys())
        typed_tp += sum(1 for s in gold.keys() & predicted.keys() if gold[s] == predicted[s])
        fp += len(predicted.keys() - gold.keys())
        fn += len(gold.keys() - predicted.keys())
        for s in gold.keys() - predicted.keys():
            misses[s] += 1
        for s in predicted.keys() - gold.keys():
            false_hits[s] += 1
        for s_id, start in spans:
            mentions += 1
            mentions_found += start >= 0 and any(
                c_id == s_id and c_start == start for c_id, c_start in covered
            )
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    print(
        f"AnnoCTR {args.split}: documents' ATT&CK software: precision {precision:.3f}"
        f" ({tp}/{tp + fp}), recall {recall:.3f} ({tp}/{tp + fn}),"
        f" typed precision {typed_tp / max(tp + fp, 1):.3f}, typed recall"
        f" {typed_tp / max(tp + fn, 1):.3f}; mention recall {mentions_found / max(mentions, 1):.3f}"
        f" ({mentions_found}/{mentions}); galaxy-only entities {galaxy_only}"
    )
    if args.show:
        print("missed:", dict(sorted(misses.items())))
        print("not in gold:", dict(sorted(false_hits.items())))


if __name__ == "__main__":
    main()
