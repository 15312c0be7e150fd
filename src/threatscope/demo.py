"""`make demo`: build a knowledge base from what is at hand and summarise it.

The MISP galaxy inside pymispgalaxies is always there; ATT&CK (Enterprise, ICS) and CISA KEV
are added when the shared data directory (`THREATSCOPE_DATA`, default `../shared/data`) holds them.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from threatscope.actors import find_actor
from threatscope.config import shared_data_dir
from threatscope.countries import country_name
from threatscope.ingest import run_import
from threatscope.store import open_store

__all__ = ["main"]

_OPTIONAL = (
    ("attack", "attack/enterprise-attack-18.1.json"),
    ("attack", "attack/ics-attack-18.1.json"),
    ("kev", "kev/known_exploited_vulnerabilities.json"),
    ("misp-galaxy", "misp-galaxy/threat-actor.json"),
)


def main(db: Path | None = None) -> None:
    console = Console()
    db = db or Path(os.environ.get("THREATSCOPE_DB", "demo.db"))
    data = shared_data_dir()
    console.rule("[bold]ThreatScope demo")
    console.print(
        f"knowledge base: {db}   shared data: {data}"
        f"{'' if data.is_dir() else ' (absent: packaged MISP galaxy only)'}"
    )
    store = open_store(db)
    try:
        steps: list[tuple[str, Path | None]] = [("misp-galaxy", None)]
        steps += [(source, data / rel) for source, rel in _OPTIONAL if (data / rel).exists()]
        for source, path in steps:
            start = time.perf_counter()
            report = run_import(store, source, path)
            console.print(
                f"  imported [bold]{source:<12}[/] {report.received:>6} objects "
                f"({report.added} new, {report.updated} updated, {report.unchanged} unchanged) "
                f"in {time.perf_counter() - start:.1f} s"
            )
        stats = store.stats()
        objects = Table("STIX type", "objects", title="Knowledge base")
        for stix_type, count in sorted(stats["objects"].items(), key=lambda kv: -kv[1]):
            objects.add_row(stix_type, f"{count:,}")
        objects.add_row("relationship", f"{stats['relationships']:,}", style="dim")
        console.print(objects)
        nexus = Table("nexus", "actors", "examples", title=f"{stats['actors']:,} resolved actors")
        for code, count in list(stats["actors_by_nexus"].items())[:10]:
            examples = [d["name"] for d in store.list_actors(code)]
            label = code if code == "unknown" else f"{code} {country_name(code)}"
            nexus.add_row(label, f"{count:,}", ", ".join(examples[:4]))
        console.print(nexus)
        apt41 = find_actor(store, "WICKED PANDA")
        console.print(
            f"'WICKED PANDA' resolves to [bold]{apt41['name']}[/] (nexus {apt41['nexus']}, "
            f"ATT&CK {', '.join(apt41['external_ids']) or '—'}), {len(apt41['aliases'])} aliases "
            f"from {', '.join(sorted({m['source'] for m in apt41['members']}))}"
        )
        console.print(f"next: threatscope --db {db} actor show 'Brass Typhoon'")
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
