"""One report file -> everything ThreatScope finds in it, as a JSON summary and a STIX bundle.

The bundle holds a `report` whose `object_refs` name: an `indicator` per IOC (with a STIX
pattern; warning-list hits are kept, typed `unknown` and flagged), a `vulnerability` per CVE, and
the knowledge base's own objects for techniques, actors and software it recognised (malware only
known to the MISP galaxies gets a `malware` object of its own). Ids are UUIDv5 of the file's
SHA-256 and the value, so extracting the same file twice names the same objects.

Vulnerability and galaxy-malware stubs carry epoch timestamps: importing the bundle never
replaces the richer version KEV or ATT&CK brought, whichever arrives first.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from threatscope.extract.entities import build_gazetteer, find_entities
from threatscope.extract.iocs import Ioc, extract_iocs, unique_iocs
from threatscope.extract.patterns import stix_pattern
from threatscope.extract.stated_nexus import stated_nexus
from threatscope.extract.techniques import TechniqueModel, extract_techniques
from threatscope.extract.text import read_report
from threatscope.ids import TECHNIQUE_ID
from threatscope.names import normalise_name
from threatscope.sources.kev import vulnerability_id
from threatscope.store.base import Store

__all__ = ["Extraction", "extract_file", "extract_text", "extraction_bundle"]

_NAMESPACE = uuid.UUID("0b1e5b7a-5e0f-4d0c-9a8e-7c2f4e1d9b63")
_UNDATED = "1970-01-01T00:00:00.000Z"  # stubs: any dated version of them is newer


@dataclass
class Extraction:
    file: str
    sha256: str
    characters: int
    iocs: list[Ioc]
    techniques: list[dict[str, Any]]
    entities: dict[str, list[dict[str, Any]]]
    technique_model: str
    created: str  # the file's modification time: extracting an unchanged file changes nothing
    prose_analysed: bool = True  # a technique model read the prose, not only explicit ids
    stated_nexus: list[dict[str, Any]] | None = None  # the actor's origin as the text states it

    def summary(self) -> dict[str, Any]:
        iocs = [i for i in self.iocs if i.type != "cve"]
        return {
            "file": self.file,
            "sha256": self.sha256,
            "characters": self.characters,
            "iocs": [
                {
                    "type": i.type,
                    "value": i.value,
                    "raw": i.raw,
                    "start": i.start,
                    "warninglists": list(i.warninglists),
                    "pattern": stix_pattern(i),
                }
                for i in iocs
            ],
            "cves": sorted({i.value for i in self.iocs if i.type == "cve"}),
            "techniques": self.techniques,
            "technique_model": self.technique_model,
            # False without a trained model: only ATT&CK ids written out were looked for.
            "prose_analysed": self.prose_analysed,
            **self.entities,
            "stated_nexus": self.stated_nexus or [],
        }


def _technique_mentions(text: str, store: Store | None) -> list[dict[str, Any]]:
    """Explicit ATT&CK ids in the text; the trained model adds the implicit ones."""
    from threatscope.extract.techniques_text import explicit_ids

    names: dict[str, str | None] = {}
    if store is not None:
        names = store.attack_technique_names()
    # Without ATT&CK in the knowledge base every well-formed id is taken at its word.
    known = names or set(TECHNIQUE_ID.findall(text))
    found: dict[str, dict[str, Any]] = {}
    for start, end, attack_id in explicit_ids(text, known):
        entry = found.setdefault(
            attack_id,
            {"id": attack_id, "name": names.get(attack_id), "confidence": 1.0, "evidence": []},
        )
        if len(entry["evidence"]) < 5:
            entry["evidence"].append({"start": start, "end": end, "text": text[start:end]})
    return sorted(found.values(), key=lambda t: t["id"])


def _model_techniques(text: str, model: TechniqueModel) -> list[dict[str, Any]]:
    return [
        {
            "id": match.technique_id,
            "name": match.name,
            "confidence": round(match.confidence, 4),
            "explicit": match.explicit,
            "evidence": [
                {"start": e.start, "end": e.end, "text": e.text, "score": round(e.score, 4)}
                for e in match.sentences[:5]
            ],
        }
        for match in extract_techniques(text, model)
    ]


def extract_file(
    path: Path, store: Store | None, model: TechniqueModel | None = None
) -> Extraction:
    """`model`: the trained technique classifier; without one only explicit ids are found."""
    data, text = read_report(path)
    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return _extract(text, data, str(path), modified, store, model)


def extract_text(
    text: str, store: Store | None, model: TechniqueModel | None = None
) -> Extraction:
    """`extract_file` for text at hand: named `<text>`, created at the epoch (no file has a
    modification time to give), so the same text always gives the same result."""
    epoch = datetime.fromtimestamp(0, UTC)
    return _extract(text, text.encode("utf-8"), "<text>", epoch, store, model)


def _cut(model: TechniqueModel) -> str:
    """ "threshold 0.5", or a report-level model's cut per level."""
    if not model.deciders:
        return f"threshold {model.threshold:g}"
    cuts = ", ".join(f"{lv} {d.threshold:g}" for lv, d in model.deciders.items())
    return f"report-level cuts {cuts}"


def _extract(
    text: str,
    data: bytes,
    name: str,
    modified: datetime,
    store: Store | None,
    model: TechniqueModel | None,
) -> Extraction:
    data_hash = hashlib.sha256(data).hexdigest()
    iocs = unique_iocs(extract_iocs(text))
    entities = find_entities(build_gazetteer(store), text)
    if model is not None:
        techniques = _model_techniques(text, model)
        described = f"trained model ({model.info.get('method', 'linear')}, {_cut(model)})"
    else:
        techniques = _technique_mentions(text, store)
        described = "explicit ATT&CK ids only"  # print_extraction says why, and what to run
    return Extraction(
        created=modified.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        file=name,
        sha256=data_hash,
        characters=len(text),
        iocs=iocs,
        techniques=techniques,
        entities=entities,
        technique_model=described,
        prose_analysed=model is not None,
        stated_nexus=stated_nexus(text),
    )


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, '|'.join(parts))}"


def _kb_ids(store: Store | None, attack_ids: list[str]) -> dict[str, str]:
    if store is None or not attack_ids:
        return {}
    return store.attack_pattern_ids(attack_ids)


def extraction_bundle(extraction: Extraction, store: Store | None) -> dict[str, Any]:
    created = extraction.created
    key = extraction.sha256 or extraction.file
    objects = _ioc_objects(extraction, key)
    refs = [obj["id"] for obj in objects]
    technique_ids = _kb_ids(store, [t["id"] for t in extraction.techniques])
    refs += [technique_ids[t["id"]] for t in extraction.techniques if t["id"] in technique_ids]
    refs += [actor["id"] for actor in extraction.entities.get("actors", ())]
    stubs, software_refs = _software(extraction)
    objects += stubs
    refs += software_refs
    report_id = _id("report", key)
    if not refs:  # a report must reference something: say that nothing was found
        note = _nothing_found(key, created, report_id)
        objects.append(note)
        refs.append(note["id"])
    report = _report(extraction, report_id, list(dict.fromkeys(refs)))
    bundle_id = f"bundle--{uuid.uuid5(_NAMESPACE, key + created)}"
    return {"type": "bundle", "id": bundle_id, "objects": [report, *objects]}


def _ioc_objects(extraction: Extraction, key: str) -> list[dict[str, Any]]:
    """A `vulnerability` per CVE and an `indicator` per IOC a STIX pattern can say."""
    objects: list[dict[str, Any]] = []
    for ioc in extraction.iocs:
        if ioc.type == "cve":
            objects.append(
                {
                    "type": "vulnerability",
                    "spec_version": "2.1",
                    "id": vulnerability_id(ioc.value),
                    "created": _UNDATED,
                    "modified": _UNDATED,
                    "name": ioc.value,
                    "external_references": [{"source_name": "cve", "external_id": ioc.value}],
                }
            )
            continue
        pattern = stix_pattern(ioc)
        if pattern is not None:
            objects.append(_indicator(ioc, pattern, key, extraction.created))
    return objects


def _indicator(ioc: Ioc, pattern: str, key: str, created: str) -> dict[str, Any]:
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": _id("indicator", key, pattern),
        "created": created,
        "modified": created,
        "name": ioc.value,
        "indicator_types": ["unknown" if ioc.warninglists else "malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": created,
        "x_threatscope_ioc_type": ioc.type,
    }
    if ioc.warninglists:
        indicator["x_threatscope_warninglists"] = list(ioc.warninglists)
    return indicator


def _software(extraction: Extraction) -> tuple[list[dict[str, Any]], list[str]]:
    """(stubs, refs) for the malware and tools found: the knowledge base's object where it has
    one, else a stub for what only the MISP galaxy names."""
    stubs: list[dict[str, Any]] = []
    refs: list[str] = []
    for kind in ("malware", "tools"):
        stix_type = "malware" if kind == "malware" else "tool"
        for software in extraction.entities.get(kind, ()):
            if not software["id"].startswith("misp-galaxy:"):
                refs.append(software["id"])
                continue
            stub = {
                "type": stix_type,
                "spec_version": "2.1",
                "id": _id(stix_type, normalise_name(software["name"])),
                "created": _UNDATED,
                "modified": _UNDATED,
                "name": software["name"],
            }
            if kind == "malware":
                stub["is_family"] = True
            stubs.append(stub)
            refs.append(stub["id"])
    return stubs, refs


def _nothing_found(key: str, created: str, report_id: str) -> dict[str, Any]:
    return {
        "type": "note",
        "spec_version": "2.1",
        "id": _id("note", key),
        "created": created,
        "modified": created,
        "content": "ThreatScope found no indicators, vulnerabilities, techniques or named"
        " entities in this file.",
        "object_refs": [report_id],
    }


def _report(extraction: Extraction, report_id: str, refs: list[str]) -> dict[str, Any]:
    created = extraction.created
    return {
        "type": "report",
        "spec_version": "2.1",
        "id": report_id,
        "created": created,
        "modified": created,
        "name": Path(extraction.file).name,
        "published": created,
        "report_types": ["threat-report"],
        "object_refs": refs,
        "external_references": [
            {
                "source_name": "file",
                "description": extraction.file,
                **({"hashes": {"SHA-256": extraction.sha256}} if extraction.sha256 else {}),
            }
        ],
        "x_threatscope_techniques": [
            {"id": t["id"], "confidence": t["confidence"]} for t in extraction.techniques
        ],
        "x_threatscope_sectors": [s["id"] for s in extraction.entities.get("sectors", ())],
        "x_threatscope_countries": [c["id"] for c in extraction.entities.get("countries", ())],
    }
