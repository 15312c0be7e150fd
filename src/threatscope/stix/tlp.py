"""The TLP level of one stored STIX object, as a rank (report.marking.Tlp.rank: 0 CLEAR … 4 RED).

An object's level is the strictest TLP marking it carries (object or granular markings, TLP 1.0
or 2.0 marking-definition ids); an unmarked object is TLP:CLEAR when a public importer brought
it (anyone may obtain that data) and TLP:AMBER otherwise (report/marking.py gives the reason).
The store keeps this rank in a column, so that a server filters by clearance in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "MARKING_LEVELS",
    "PRIVATE_DEFAULT",
    "PUBLIC_IMPORTERS",
    "RANKS",
    "definition_level",
    "marking_refs",
    "object_tlp_rank",
    "tlp_definitions",
]

RANKS = {"clear": 0, "green": 1, "amber": 2, "amber+strict": 3, "red": 4}

# The published STIX marking-definition ids: TLP 1.0 (STIX 2.1 spec; WHITE is now CLEAR) and the
# TLP 2.0 extension (oasis-open/cti-stix-common-objects). Consumers recognise TLP by these ids.
MARKING_LEVELS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}
# Unmarked data from a source not known to be public: not for the world, but shareable where it
# is needed, which is what most sharing communities assume of unlabelled intelligence.
PRIVATE_DEFAULT = "amber"
# The shipped importers of public data (their Source says public=True). A plugin's source is
# treated as private here: a stricter default never leaks what a looser one would.
PUBLIC_IMPORTERS = ("attack", "eurepoc", "kev", "misp-galaxy")


_TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


def definition_level(doc: dict[str, Any]) -> str | None:
    """The TLP level a marking-definition object defines, whatever its id."""
    extension = (doc.get("extensions") or {}).get(_TLP2_EXTENSION) or {}
    if isinstance(extension.get("tlp_2_0"), str):
        return str(extension["tlp_2_0"]).lower()
    definition = doc.get("definition") or {}
    if doc.get("definition_type") == "tlp" and isinstance(definition.get("tlp"), str):
        return str(definition["tlp"]).lower()
    name = doc.get("name")
    if isinstance(name, str) and name.upper().startswith("TLP:"):
        return name[4:].lower()
    return None


def tlp_definitions(definitions: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Marking-definition id -> TLP level, for definitions of TLP under ids of their own (a
    producer's copy of TLP:RED must hide what it marks as the published one does)."""
    found: dict[str, str] = {}
    for doc in definitions:
        if doc.get("type") != "marking-definition" or not isinstance(doc.get("id"), str):
            continue
        level = definition_level(doc)
        level = "clear" if level == "white" else level
        if level in RANKS and doc["id"] not in MARKING_LEVELS:
            found[doc["id"]] = level
    return found


def marking_refs(obj: dict[str, Any]) -> Iterator[str]:
    """Every marking-definition id an object carries, on the object or on some of its
    properties."""
    refs = obj.get("object_marking_refs")
    if isinstance(refs, list):
        yield from (ref for ref in refs if isinstance(ref, str))
    granular = obj.get("granular_markings")
    if isinstance(granular, list):
        for marking in granular:
            if isinstance(marking, dict) and isinstance(marking.get("marking_ref"), str):
                yield marking["marking_ref"]


def object_tlp_rank(
    obj: dict[str, Any], importer: str, custom: Mapping[str, str] | None = None
) -> int:
    """The rank of `obj`, brought by `importer` (module docstring); `custom`: tlp_definitions()
    of the marking definitions stored or arriving with it."""
    levels = {**MARKING_LEVELS, **custom} if custom else MARKING_LEVELS
    marked = [RANKS[levels[ref]] for ref in marking_refs(obj) if ref in levels]
    if marked:
        return max(marked)
    return RANKS["clear"] if importer in PUBLIC_IMPORTERS else RANKS[PRIVATE_DEFAULT]
