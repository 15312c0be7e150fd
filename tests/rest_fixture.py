"""A small real knowledge base for the REST API tests: a slice of ATT&CK enterprise 18.1 (six
groups, what they use, and what that needs), the MISP galaxy's entries for the same groups, and
the CFR Cyber Operations Tracker table (tests/data/tables) for the landscape. Imported through
`KnowledgeBase.import_file`, as the CLI's `import` does; seconds, not the minute a full one takes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import shared_file
from threatscope import KnowledgeBase

TABLES = Path(__file__).parent / "data" / "tables"
GROUPS = ("G0007", "G0032", "G0016", "G1017", "G0034", "G0010")  # APT28, Lazarus, APT29, …
GALAXY_NAMES = {"APT28", "Lazarus Group", "APT29", "Volt Typhoon", "Sandworm", "Turla"}


def _attack_id(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("external_references", ()):
        if ref.get("source_name") == "mitre-attack":
            return str(ref.get("external_id"))
    return None


def attack_slice(folder: Path) -> Path:
    """The six groups, their `uses` relationships and what those name, with the bundle's
    identity and marking definitions, as an ATT&CK bundle file."""
    bundle = json.loads(shared_file("attack/enterprise-attack-18.1.json").read_text())
    objects: list[dict[str, Any]] = bundle["objects"]
    groups = {o["id"] for o in objects if o["type"] == "intrusion-set" and _attack_id(o) in GROUPS}
    uses = [
        o
        for o in objects
        if o["type"] == "relationship"
        and o["source_ref"] in groups
        and o["relationship_type"] == "uses"
    ]
    wanted = groups | {o["target_ref"] for o in uses}
    always = ("identity", "marking-definition", "x-mitre-collection")
    kept = [o for o in objects if o["id"] in wanted or o["type"] in always]
    path = folder / "attack-slice.json"
    path.write_text(json.dumps({**bundle, "objects": kept + uses}))
    return path


def galaxy_slice(folder: Path) -> Path:
    galaxy = json.loads(shared_file("misp-galaxy/threat-actor.json").read_text())
    values = [v for v in galaxy["values"] if v["value"] in GALAXY_NAMES]
    path = folder / "threat-actor.json"
    path.write_text(json.dumps({**galaxy, "values": values}))
    return path


def build(location: str, folder: Path) -> None:
    with KnowledgeBase(location) as kb:
        kb.import_file("attack", attack_slice(folder))
        kb.import_file("misp-galaxy", galaxy_slice(folder))
        kb.import_file(
            "table",
            TABLES / "cfr-cyber-operations-2023-02.csv",
            mapping=TABLES / "cfr-cyber-operations.toml",
        )
