"""A report's extraction as the upload page reviews it: the items an analyst may drop, each
with a stable key, and the reviewed extraction stored as `KnowledgeBase.extract(store=True)`
stores one (its STIX bundle through `ingest.write_objects`, source `extract`).

The text travels with the review form and is extracted again on storing: extraction of the
same text is deterministic (ids are UUIDv5 of its SHA-256), so what is stored is what was
reviewed, minus what was dropped."""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePath
from typing import Any

from threatscope.extract.document import Extraction, extract_text, extraction_bundle
from threatscope.ingest import write_objects
from threatscope.knowledge_base import KnowledgeBase, _technique_model
from threatscope.server.principal import Principal

__all__ = [
    "UPLOAD_FOLDER",
    "drop_items",
    "extract_upload",
    "hidden_keys",
    "review_items",
    "store_reviewed",
    "upload_name",
]

# Provenance names a file; an upload has none on this machine, so it is named under here.
UPLOAD_FOLDER = Path("/web-upload")
ENTITY_KINDS = ("actors", "malware", "tools", "sectors", "countries")


def upload_name(filename: str | None) -> str:
    """The report's name: the uploaded file's own name (no folders), else `pasted.txt`."""
    name = PurePath((filename or "").replace("\\", "/")).name.strip()
    return name[:200] or "pasted.txt"


def extract_upload(kb: KnowledgeBase, text: str, name: str) -> Extraction:
    """The extraction of `text`, named `name`, resolved against this knowledge base."""
    extraction = extract_text(text, kb.store, _technique_model(None))
    return dataclasses.replace(extraction, file=name)


def hidden_keys(kb: KnowledgeBase, who: Principal, extraction: Extraction) -> set[str]:
    """Keys of the actors and software the text names that the reader may not see in the
    knowledge base: not shown for review, and not stored."""
    ids = [e["id"] for kind in ("malware", "tools") for e in extraction.entities.get(kind, ())]
    ranks = kb.store.object_tlp_ranks(ids)
    hidden = {i for i, rank in ranks.items() if not who.sees(rank)}
    actor_ranks = kb.store.actor_tlp_ranks()
    member_of = kb.store.actor_members()
    for actor in extraction.entities.get("actors", ()):
        rank = actor_ranks.get(member_of.get(actor["id"], actor["id"]), 0)
        if not who.sees(rank):
            hidden.add(actor["id"])
    return {
        f"{kind}:{e['id']}"
        for kind in ("actors", "malware", "tools")
        for e in extraction.entities.get(kind, ())
        if e["id"] in hidden
    }


def review_items(kb: KnowledgeBase, who: Principal, extraction: Extraction) -> dict[str, Any]:
    """The groups the review page lists, each item with the key its drop checkbox sends."""
    hidden = hidden_keys(kb, who, extraction)
    groups: dict[str, list[dict[str, str]]] = {
        "IOCs": [
            {"key": f"ioc:{i.type}:{i.value}", "label": i.value,
             "detail": str(i.type) + (" (on a warning list)" if i.warninglists else "")}
            for i in extraction.iocs if i.type != "cve"
        ],
        "CVEs": [
            {"key": f"ioc:{i.type}:{i.value}", "label": i.value, "detail": "vulnerability"}
            for i in extraction.iocs if i.type == "cve"
        ],
        "Techniques": [
            {"key": f"technique:{t['id']}", "label": f"{t['id']} {t.get('name') or ''}".strip(),
             "detail": f"confidence {t.get('confidence', 1):.2f}"}
            for t in extraction.techniques
        ],
    }
    titles = {"actors": "Suggested actors", "malware": "Malware", "tools": "Tools",
              "sectors": "Sectors", "countries": "Countries"}
    for kind in ENTITY_KINDS:
        groups[titles[kind]] = [
            {"key": f"{kind}:{e['id']}", "label": e["name"],
             "detail": f"{e.get('count', 1)} mention(s)"}
            for e in extraction.entities.get(kind, ()) if f"{kind}:{e['id']}" not in hidden
        ]
    return {"groups": groups, "withheld": len(hidden)}


def drop_items(extraction: Extraction, dropped: set[str]) -> Extraction:
    """The extraction without the items whose keys are in `dropped`."""
    return dataclasses.replace(
        extraction,
        iocs=[i for i in extraction.iocs if f"ioc:{i.type}:{i.value}" not in dropped],
        techniques=[t for t in extraction.techniques if f"technique:{t['id']}" not in dropped],
        entities={
            kind: [e for e in found if f"{kind}:{e['id']}" not in dropped]
            for kind, found in extraction.entities.items()
        },
    )


def store_reviewed(kb: KnowledgeBase, extraction: Extraction) -> dict[str, Any]:
    """Store the extraction's bundle; returns the import's counts and the report's id."""
    objects = extraction_bundle(extraction, kb.store)["objects"]
    report = write_objects(kb.store, "extract", UPLOAD_FOLDER / extraction.file, objects)
    return {"report": objects[0]["id"], "objects": len(objects), **report.as_dict()}
