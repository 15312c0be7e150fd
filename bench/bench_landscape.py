"""Landscape computation over 1,000,000 synthetic incidents in a real SQLite store.

    .venv/bin/python bench/bench_landscape.py [--incidents 1000000] [--rounds 3] [--db PATH]

Loading is not timed: synthetic incident objects go through the same `facts_of` the importers'
objects go through and are written with the store's own `replace_incident_facts` (the STIX JSON
itself is skipped: the landscape never reads it). The MISP galaxy packaged with pymispgalaxies
is imported first so that named initiators resolve to actors and their nexus, as in real use.

Timed: `landscape()` end to end (selection, shares and intervals, previous window and tests,
8-quarter trend, sector/region/type/access/CVE breakdowns, coverage, headline), for the default
filters, a sector filter and fractional counting. The issue's target is < 2 s.
There is no peer tool computing the same figures; as a same-run reference the script also
times the naive approach a notebook would take: fetch every incident's rows and count in Python.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from threatscope.ingest import run_import
from threatscope.landscape.compute import landscape
from threatscope.landscape.facts import facts_of
from threatscope.landscape.selection import Filters
from threatscope.store import SQLiteStore

NEXUS_WEIGHTS = {"CN": 30, "RU": 22, "IR": 12, "KP": 8, "US": 3, "IL": 2, "UA": 3, None: 20}
CATEGORIES = ["state", "state-affiliated", "criminal", "hacktivist", "unknown"]
SECTORS = [
    "government-national", "military", "telecommunications", "software", "semiconductors",
    "artificial-intelligence", "finance", "energy", "healthcare", "education", "media",
    "critical-infrastructure", "private-sector", "ngos", "research",
]  # fmt: skip
COUNTRIES = ["US", "GB", "DE", "FR", "UA", "TW", "JP", "KR", "IN", "IL", "SA", "AU", "BR", "PL"]
TYPES = ["espionage", "data-theft", "disruption", "ransomware", "hijacking", "doxing"]
TECHNIQUES = ["T1190", "T1566", "T1078", "T1133", "T1195", "T1189"]


def synthetic_incidents(count: int, actor_refs: list[str], seed: int = 7):
    rng = random.Random(seed)
    nexuses = list(NEXUS_WEIGHTS)
    weights = list(NEXUS_WEIGHTS.values())
    start = date(2016, 1, 1)
    span = (date(2026, 3, 31) - start).days
    for n in range(count):
        initiators = []
        for _ in range(1 if rng.random() < 0.9 else 2):
            nexus = rng.choices(nexuses, weights)[0]
            initiators.append(
                {
                    "country": nexus,
                    "category": rng.choice(CATEGORIES),
                    "actor_ref": rng.choice(actor_refs) if rng.random() < 0.2 else None,
                }
            )
        victims = [
            {"country": rng.choice(COUNTRIES), "sectors": rng.sample(SECTORS, rng.randint(0, 2))}
            for _ in range(rng.randint(1, 2))
        ]
        first = start + timedelta(days=rng.randrange(span))
        yield {
            "id": f"incident--{n:08d}",
            "x_threatscope_first_seen": first.isoformat(),
            "x_threatscope_initiators": initiators,
            "x_threatscope_victims": victims,
            "x_threatscope_incident_types": rng.sample(TYPES, rng.randint(1, 2)),
            "x_threatscope_initial_access": [rng.choice(TECHNIQUES)] if rng.random() < 0.1 else [],
            "x_threatscope_cves": ["CVE-2024-3400"] if rng.random() < 0.02 else [],
        }


def load(db: Path, count: int) -> float:
    began = time.perf_counter()
    store = SQLiteStore(db)
    run_import(store, "misp-galaxy")
    refs = [
        row[0]
        for row in store.analytics().execute(
            "SELECT object_id FROM actor_members JOIN actors ON actors.id = actor_id"
            " WHERE nexus IS NOT NULL"
        )
    ]
    with store.write() as writer:
        writer.replace_incident_facts(
            facts_of(incident, "synthetic") for incident in synthetic_incidents(count, refs)
        )
    store.analytics().execute("ANALYZE")
    store.close()
    return time.perf_counter() - began


def naive(db: Path) -> float:
    """Fetch window rows and count nexus shares in Python (no intervals, trend or breakdowns)."""
    store = SQLiteStore(db)
    began = time.perf_counter()
    lo = (date(2025, 4, 1) - date(1970, 1, 1)).days
    hi = (date(2026, 3, 31) - date(1970, 1, 1)).days
    per_fact: dict[int, set[str]] = {}
    for fact, category, country in store.analytics().execute(
        "SELECT f.fact, i.category, i.country FROM incident_facts f"
        " JOIN incident_initiators i ON i.fact = f.fact WHERE f.day BETWEEN ? AND ?",
        (lo, hi),
    ):
        if category in ("state", "state-affiliated"):
            per_fact.setdefault(fact, set()).add(country or "unknown")
    Counter(n for nexuses in per_fact.values() for n in nexuses)
    elapsed = time.perf_counter() - began
    store.close()
    return elapsed


def timed(db: Path, rounds: int, filters: Filters) -> tuple[float, int]:
    times = []
    incidents = 0
    for _ in range(rounds):
        store = SQLiteStore(db)
        began = time.perf_counter()
        result = landscape(store, filters)
        times.append(time.perf_counter() - began)
        incidents = result["incidents"]
        store.close()
    return statistics.median(times), incidents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", type=Path, help="reuse or create this database file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        if not db.exists():
            print(f"loading {args.incidents:,} synthetic incidents …", flush=True)
            print(f"  load (not timed below): {load(db, args.incidents):.1f} s")
        naive_s = naive(db)
        print(f"naive fetch-and-count reference, shares only: {naive_s:.3f} s")
        for label, filters in (
            ("default (state + state-affiliated)", Filters()),
            ("--sector technology", Filters(sector="technology")),
            ("--count fractional", Filters(count="fractional")),
            ("--victim-region europe", Filters(victim_region="europe")),
        ):
            seconds, incidents = timed(db, args.rounds, filters)
            print(
                f"landscape {label}: {seconds:.3f} s median of {args.rounds}"
                f" ({incidents:,} incidents in the window; {seconds / naive_s:.2f}x the naive"
                " shares-only reference)"
            )


if __name__ == "__main__":
    main()
