"""How well `import reports` reads victim sector, victim country and nexus from incident prose.

    .venv/bin/python bench/bench_import_reports.py [--db KB] [--csv EUREPOC_CSV] [--rules-only]

Ground truth: the EuRepoC Global Database 1.1, each incident's `description` read by the same
code `import reports` runs on a report file (sources/report_incidents.py), against what
EuRepoC's coders recorded, as the `eurepoc` importer maps it: receiver category/sub-category
onto our sector taxonomy, receiver country, and initiator country. Split: the test half is the
incidents whose EuRepoC ID has an odd CRC-32 (`zlib.crc32(ID)`); the rules were written without
looking at it. The other half (`--split tune`) sets the majority baseline printed beside each
field and trains the sector model (`sources/report_sectors.py`) that reads a sector when the
text names none, as `import reports` does with the shared data; `--rules-only` leaves it out.

Per field, over the incidents whose coders recorded a value:
* sector: the report's first sector (most mentioned) is one the coders recorded ("exact"), or
  shares a top-level sector with one ("category": EuRepoC codes mostly at category level);
* victim country: the first victim country is one the coders recorded;
* nexus: the attacker country (a named actor's resolved nexus, else a country written as the
  attacker's) is the coded initiator country.
"Answered" counts the incidents the rule gives any value for; "precision" is accuracy among
them. The knowledge base (default: a fresh one with ATT&CK Enterprise and the MISP galaxy)
resolves actor names.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from threatscope.extract.entities import build_gazetteer
from threatscope.ingest import run_import
from threatscope.sources.eurepoc import load_eurepoc
from threatscope.sources.report_incidents import report_incident
from threatscope.sources.report_sectors import SectorModel, is_training_incident, train_sector_model
from threatscope.store import open_store
from threatscope.taxonomy import sectors

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
_NEXUS_ROWS = ("CN", "RU", "IR", "KP", "other", "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument(
        "--csv", type=Path, default=DATA / "incidents/eurepoc-1.1/EuRepoC_Global_Database_1.1.csv"
    )
    parser.add_argument("--split", choices=("test", "tune", "all"), default="test")
    parser.add_argument("--rules-only", action="store_true", help="no learnt sector model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = knowledge_base(args.db or Path(tmp) / "kb.db", fresh=args.db is None)
        incidents = load_eurepoc(args.csv)
        cases = [i for i in incidents if i["type"] == "incident" and i.get("description")]
        chosen = [c for c in cases if args.split == "all" or split_of(c) == args.split]
        tune = [c for c in cases if split_of(c) == "tune"]
        sector_model = None if args.rules_only else train_sector_model(args.csv)
        began = time.perf_counter()
        result = measure(store, chosen, tune, sector_model)
        seconds = time.perf_counter() - began
        store.close()
    print(f"EuRepoC 1.1 descriptions, {args.split} split (odd CRC-32 of ID = test):")
    print(f"{len(chosen)} incidents read in {seconds:.1f} s", end="")
    print(" (rules only)" if sector_model is None else f" (sector model: {sector_model.examples}"
          " training-half descriptions)")
    for field, figures in result["fields"].items():
        print(
            f"{field:<16} n={figures['n']:4d}  accuracy {figures['accuracy']:.3f}"
            f"  answered {figures['answered']:4d}  precision {figures['precision']:.3f}"
            f"  majority baseline ({figures['majority']}) {figures['majority_accuracy']:.3f}"
        )
    print_confusion("sector category (rows: coded, columns: read)", result["sector_confusion"])
    print_confusion("nexus (rows: coded, columns: read)", result["nexus_confusion"])


def knowledge_base(db: Path, fresh: bool) -> Any:
    if not fresh:
        return open_store(db, create=False, read_only=True)
    store = open_store(db)
    run_import(store, "attack", DATA / "attack/enterprise-attack-18.1.json")
    run_import(store, "misp-galaxy", DATA / "misp-galaxy/threat-actor.json")
    return store


def split_of(incident: dict[str, Any]) -> str:
    eurepoc_id = incident["external_references"][0]["external_id"]
    return "tune" if is_training_incident(eurepoc_id) else "test"


def roots(sector_id: str) -> set[str]:
    taxonomy = sectors()
    return {s for s in taxonomy.ancestors(sector_id) if taxonomy.by_id[s].parent is None}


def coded(incident: dict[str, Any]) -> dict[str, set[str]]:
    victims = incident["x_threatscope_victims"]
    return {
        "sector": {s for v in victims for s in v["sectors"] if s not in ("other",)},
        "victim country": {v["country"] for v in victims if v["country"]},
        "nexus": {i["country"] for i in incident["x_threatscope_initiators"] if i["country"]},
    }


def measure(
    store: Any,
    cases: list[dict[str, Any]],
    tune: list[dict[str, Any]],
    sector_model: SectorModel | None = None,
) -> dict[str, Any]:
    gazetteer = build_gazetteer(store)
    right: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    answered_right: Counter[str] = Counter()
    counted: Counter[str] = Counter()
    sector_confusion: Counter[tuple[str, str]] = Counter()
    nexus_confusion: Counter[tuple[str, str]] = Counter()
    majority = _majorities(tune)
    majority_right: Counter[str] = Counter()
    for incident in cases:
        truth = coded(incident)
        read = report_incident(
            incident["description"], incident["id"], "", gazetteer, store,
            sector_model=sector_model,
        )  # fmt: skip
        guesses = {
            "sector": read.sectors[0].value if read.sectors else None,
            "victim country": read.countries[0].value if read.countries else None,
            "nexus": read.nexus(),
        }
        for field, guess in guesses.items():
            if not truth[field]:
                continue
            counted[field] += 1
            correct = guess in truth[field]
            right[field] += correct
            majority_right[field] += majority[field] in truth[field]
            if guess is not None:
                answered[field] += 1
                answered_right[field] += correct
        if truth["sector"]:
            counted["sector category"] += 1
            truth_roots = set().union(*(roots(s) for s in truth["sector"]))
            guess_roots = roots(guesses["sector"]) if guesses["sector"] else set()
            hit = bool(truth_roots & guess_roots)
            right["sector category"] += hit
            majority_right["sector category"] += bool(roots(majority["sector"]) & truth_roots)
            if guess_roots:
                answered["sector category"] += 1
                answered_right["sector category"] += hit
            coded_root = sorted(truth_roots)[0]
            shown = (sorted(truth_roots & guess_roots) or sorted(guess_roots) or ["none"])[0]
            sector_confusion[(coded_root, shown)] += 1
        if truth["nexus"]:
            coded_nexus = _nexus_row(sorted(truth["nexus"])[0])
            if guesses["nexus"] in truth["nexus"]:
                coded_nexus = _nexus_row(guesses["nexus"])
            nexus_confusion[(coded_nexus, _nexus_row(guesses["nexus"]))] += 1
    majority["sector category"] = majority["sector"]
    fields = {}
    for field in ("sector", "sector category", "victim country", "nexus"):
        n = counted[field]
        fields[field] = {
            "n": n,
            "accuracy": right[field] / n if n else 0.0,
            "answered": answered[field],
            "precision": answered_right[field] / answered[field] if answered[field] else 0.0,
            "majority": majority[field],
            "majority_accuracy": majority_right[field] / n if n else 0.0,
        }
    return {
        "fields": fields,
        "sector_confusion": sector_confusion,
        "nexus_confusion": nexus_confusion,
    }


def _majorities(incidents: list[dict[str, Any]]) -> dict[str, str]:
    counts: dict[str, Counter[str]] = {}
    for incident in incidents:
        for field, values in coded(incident).items():
            counts.setdefault(field, Counter()).update(values)
    return {field: count.most_common(1)[0][0] for field, count in counts.items()}


def _nexus_row(country: str | None) -> str:
    if country is None:
        return "none"
    return country if country in _NEXUS_ROWS else "other"


def print_confusion(title: str, confusion: Counter[tuple[str, str]]) -> None:
    by_row: Counter[str] = Counter()
    by_column: Counter[str] = Counter()
    for (row, column), n in confusion.items():
        by_row[row] += n
        by_column[column] += n
    rows = [r for r, _ in by_row.most_common(8)]
    columns = [c for c, _ in by_column.most_common(8)]
    print(f"\n{title}")
    first = max(len(r) for r in [*rows, "coded"]) + 1
    width = 13  # column labels cut to 12 characters
    print("coded".ljust(first) + "".join(c[: width - 1].rjust(width) for c in columns))
    for row in rows:
        cells = "".join(str(confusion[(row, c)]).rjust(width) for c in columns)
        print(row.ljust(first) + cells)


if __name__ == "__main__":
    main()
