"""`make demo`: build a knowledge base from what is at hand and summarise it.

The MISP galaxy inside pymispgalaxies is always there; ATT&CK (Enterprise, ICS), CISA KEV and
the reduced EuRepoC incident export are added when the shared data directory (`THREATSCOPE_DATA`,
default `../shared/data`) holds them, and then every AnnoCTR training report through the code
`threatscope import reports` runs (one incident each, its actor resolved against what was just
imported). With incidents at hand it ends with the landscape headline and writes the HTML
threat report (`report.html`, or env `THREATSCOPE_REPORT`).
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
from threatscope.console import SafeConsole, styled
from threatscope.countries import country_name
from threatscope.errors import ThreatScopeError
from threatscope.ingest import run_import, write_objects
from threatscope.landscape.compute import landscape
from threatscope.landscape.selection import Filters
from threatscope.store import Store, open_store

__all__ = ["main"]

_OPTIONAL = (
    ("attack", "attack/enterprise-attack-18.1.json"),
    ("attack", "attack/ics-attack-18.1.json"),
    ("kev", "kev/known_exploited_vulnerabilities.json"),
    ("misp-galaxy", "misp-galaxy/threat-actor.json"),
    # Only the reduced export: it covers the Global Database's incidents too (to 2026-03), and
    # importing both would count the incidents up to 2023 twice.
    ("eurepoc", "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"),
)
# All of them, not a hand-picked few: 70 CTI reports (2016-2021), five seconds to read.
SHARED_REPORTS = "text/annoctr/train"


def main(db: str | Path | None = None) -> None:
    console = SafeConsole()
    db = db or os.environ.get("THREATSCOPE_DB", "demo.db")
    data = shared_data_dir()
    console.rule(styled("[bold]ThreatScope demo"))
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
                styled(
                    "  imported [bold]{}[/] {} objects ({} new, {} updated, {} unchanged) in {} s",
                    f"{source:<12}",
                    f"{report.received:>6}",
                    report.added,
                    report.updated,
                    report.unchanged,
                    f"{time.perf_counter() - start:.1f}",
                )
            )
        reports = import_shared_reports(store, data)
        if reports is not None:
            files, incidents, seconds = reports
            console.print(
                styled(
                    "  imported [bold]{}[/] {} report files of {}: {} incidents in {} s",
                    f"{'reports':<12}",
                    f"{files:>6}",
                    data / SHARED_REPORTS,
                    incidents,
                    f"{seconds:.1f}",
                )
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
            styled(
                "'WICKED PANDA' resolves to [bold]{}[/] (nexus {}, ATT&CK {}), {} aliases from {}",
                apt41["name"],
                apt41["nexus"],
                ", ".join(apt41["external_ids"]) or "—",
                len(apt41["aliases"]),
                ", ".join(sorted({m["source"] for m in apt41["members"]})),
            )
        )
        console.print(f"next: threatscope --db {db} actor show 'Brass Typhoon'")
        _landscape(console, store, db)
        if reports is not None:
            console.print(
                f"next: threatscope --db {db} landscape --source reports"
                " --ending 2021-09-30 --months 72"
            )
    finally:
        store.close()


def import_shared_reports(store: Store, data: Path) -> tuple[int, int, float] | None:
    """(report files, incidents, seconds) of importing the shared data's AnnoCTR training
    reports as `threatscope import reports` does (same technique and sector models); None when
    the shared data does not hold them."""
    from threatscope.extract.techniques import default_model_path, load_model
    from threatscope.sources.report_incidents import load_reports, report_files
    from threatscope.sources.report_sectors import default_sector_model

    folder = data / SHARED_REPORTS
    if not folder.is_dir():
        return None
    start = time.perf_counter()
    model = load_model(None) if default_model_path().is_file() else None
    objects = load_reports([folder], store, model, sector_model=default_sector_model(data))
    write_objects(store, "reports", folder, objects)
    incidents = sum(o["type"] == "incident" for o in objects)
    return len(report_files([folder])), incidents, time.perf_counter() - start


def _landscape(console: Console, store: Store, db: str | Path) -> None:
    from threatscope.report.html import write_report
    from threatscope.report.marking import report_marking

    if store.stats()["objects"].get("incident", 0) == 0:
        console.print("no incidents at hand (EuRepoC absent): no landscape report")
        return
    result = landscape(store, Filters())
    console.rule(styled("[bold]Landscape: {}", result["window_label"]))
    for warning in result["warnings"]:
        console.print(
            styled("[yellow]! {}:[/] {}", warning["kind"], warning["message"]), highlight=False
        )
    for sentence in result["headline"]:
        console.print(f"  • {sentence}", highlight=False)
    start = time.perf_counter()
    marking, credits = report_marking(store, None)
    written = write_report(
        result,
        Path(os.environ.get("THREATSCOPE_REPORT", "report.html")),
        marking=marking,
        credits=credits,
    )
    console.print(
        styled(
            "report written to [bold]{}[/] in {} s — open it in a browser",
            written[0].resolve(),
            f"{time.perf_counter() - start:.1f}",
        )
    )
    console.print(f"next: threatscope --db {db} landscape --sector government --json")


if __name__ == "__main__":
    try:
        main()
    except ThreatScopeError as error:  # one line, as the CLI prints it, never a traceback
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
