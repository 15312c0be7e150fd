"""One normalised incident record -> STIX 2.1 objects, shared by every incident importer.

The incident SDO carries everything the landscape needs in `x_threatscope_*` properties (dates,
types, initiators with country and category, victims with sectors and country, initial access,
CVEs, the source row), so analytics read one object per incident. The same facts are also
expressed as a STIX graph for export and for other tools: each victim is an `identity` the
incident `targets`, and each named initiator is a `threat-actor` the incident is
`attributed-to`. Named initiators join actor resolution like any other threat-actor, so
"Fancy Bear/APT28/.../G0007" from EuRepoC links to ATT&CK's APT28 through the shared G-id.

Ids are UUIDv5 of the source's own key, so re-importing a file names the same objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from threatscope.days import EPOCH
from threatscope.ids import GROUP_ID

__all__ = [
    "IncidentRecord",
    "Initiator",
    "Victim",
    "dataset_version",
    "incident_objects",
    "initiator_aliases",
    "source_identity",
]

_NAMESPACE = uuid.UUID("5f0c7f0e-3a7c-4f3e-9d55-0c8f8f3f6a11")
# The `created` of objects that have no date of their own (threat-actors, relationships).
_UNDATED = "1970-01-01T00:00:00.000Z"


@dataclass
class Initiator:
    name: str | None
    country: str | None  # ISO 3166 alpha-2
    category: str  # one of taxonomy.CATEGORIES
    raw_country: str | None = None
    raw_category: str | None = None
    confidence: int | None = None


@dataclass
class Victim:
    name: str | None
    country: str | None
    sectors: list[str] = field(default_factory=list)
    raw_country: str | None = None
    raw_sectors: list[str] = field(default_factory=list)
    unmapped_sectors: list[str] = field(default_factory=list)


def dataset_version(days: Iterable[date | None], today: date | None = None) -> str:
    """The STIX timestamp that versions every object of an incident file: its latest incident
    date that is not past `today` (UTC). A date in the future is a typo or a placeholder, which
    the landscape's `dates` warning reports; as the version it would date every object in the
    future, which the store refuses."""
    today = today or datetime.now(UTC).date()
    latest = max((day for day in days if day is not None and day <= today), default=EPOCH)
    # Never before 1970: undated objects are `created` then, and a file whose incidents all
    # predate 1970 would otherwise give them `modified` < `created`, which STIX refuses.
    return max(latest, EPOCH).isoformat() + "T00:00:00.000Z"


@dataclass
class IncidentRecord:
    key: str  # unique within the source: its id column, or a hash of the row
    source: str
    file: str
    row: int
    name: str
    modified: str  # STIX timestamp of the dataset version, so newer exports replace older rows
    description: str | None = None
    first_seen: date | None = None
    last_seen: date | None = None
    types: list[str] = field(default_factory=list)
    initiators: list[Initiator] = field(default_factory=list)
    victims: list[Victim] = field(default_factory=list)
    initial_access: list[str] = field(default_factory=list)
    cves: list[str] = field(default_factory=list)
    zero_day: bool | None = None
    urls: list[str] = field(default_factory=list)
    external_id: str | None = None


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, '|'.join(parts))}"


def initiator_aliases(name: str) -> list[str]:
    """EuRepoC writes every vendor name in one cell: `Fancy Bear/APT28/.../Group G0007 (GRU ...)`.
    Returns the distinct names, the ATT&CK group id among them."""
    aliases: list[str] = []
    for part in name.split("/"):
        part = _without_parentheses(part.split("<")[0]).replace("\xa0", " ").strip(" ,;")
        if not part:
            continue
        found = GROUP_ID.search(part)
        alias = found.group(0) if found and part.startswith("Group") else part
        if alias not in aliases:
            aliases.append(alias)
    return aliases


def _without_parentheses(text: str) -> str:
    """`text` without its "(…)" asides, in one pass (a regex rescans to the end from every
    unclosed "(", quadratic in a cell of 500,000 of them)."""
    kept: list[str] = []
    start = 0
    while (opening := text.find("(", start)) >= 0:
        closing = text.find(")", opening)
        if closing < 0:
            break
        kept.append(text[start:opening])
        start = closing + 1
    kept.append(text[start:])
    return "".join(kept)


def _threat_actor(initiator: Initiator, source: str, modified: str) -> dict[str, Any]:
    assert initiator.name is not None
    aliases = initiator_aliases(initiator.name)
    name = aliases[0] if aliases else initiator.name.strip()
    obj: dict[str, Any] = {
        "type": "threat-actor",
        "spec_version": "2.1",
        "id": _id("threat-actor", source, initiator.name.strip().casefold()),
        "created": _UNDATED,
        "modified": modified,
        "name": name,
        "threat_actor_types": [_ACTOR_TYPES[initiator.category]],
    }
    if len(aliases) > 1:
        obj["aliases"] = aliases[1:]
    # Only a state or state-affiliated initiator's country says which state is behind it.
    if initiator.country and initiator.category in ("state", "state-affiliated"):
        obj["x_threatscope_nexus_claims"] = [
            {"nexus": initiator.country, "basis": f"{source} initiator_country"}
        ]
    return obj


_ACTOR_TYPES = {
    "state": "nation-state",
    "state-affiliated": "nation-state",
    "criminal": "crime-syndicate",
    "hacktivist": "activist",
    "unknown": "unknown",
}


def incident_objects(record: IncidentRecord) -> list[dict[str, Any]]:
    incident_id = _id("incident", record.source, record.key)
    created = record.first_seen.isoformat() + "T00:00:00.000Z" if record.first_seen else None
    created = min(created, record.modified) if created else record.modified
    references: list[dict[str, Any]] = [
        {"source_name": record.source, "external_id": record.external_id or record.key}
    ]
    references += [{"source_name": "report", "url": url} for url in record.urls]
    actors = [_threat_actor(i, record.source, record.modified) for i in record.initiators if i.name]
    actor_refs = iter(a["id"] for a in actors)
    incident: dict[str, Any] = {
        "type": "incident",
        "spec_version": "2.1",
        "id": incident_id,
        "created": created,
        "modified": record.modified,
        "name": record.name,
        "external_references": references,
        "x_threatscope_first_seen": record.first_seen.isoformat() if record.first_seen else None,
        "x_threatscope_last_seen": record.last_seen.isoformat() if record.last_seen else None,
        "x_threatscope_incident_types": record.types,
        "x_threatscope_initiators": [
            {
                "name": i.name,
                "country": i.country,
                "category": i.category,
                "raw_country": i.raw_country,
                "raw_category": i.raw_category,
                "actor_ref": next(actor_refs) if i.name else None,
            }
            for i in record.initiators
        ],
        "x_threatscope_victims": [
            {
                "name": v.name,
                "country": v.country,
                "sectors": v.sectors,
                "raw_country": v.raw_country,
                "raw_sectors": v.raw_sectors,
                "unmapped_sectors": v.unmapped_sectors,
            }
            for v in record.victims
        ],
        "x_threatscope_initial_access": record.initial_access,
        "x_threatscope_cves": record.cves,
        "x_threatscope_zero_day": record.zero_day,
        "x_threatscope_source_row": {"file": record.file, "row": record.row},
    }
    if record.description:
        incident["description"] = record.description
    objects = [incident, *{a["id"]: a for a in actors}.values()]
    seen_actors: set[str] = set()
    named = [i for i in record.initiators if i.name]
    for initiator, actor in zip(named, actors, strict=True):
        if actor["id"] in seen_actors:
            continue
        seen_actors.add(actor["id"])
        relationship = _relationship(incident_id, "attributed-to", actor["id"], record.modified)
        if initiator.confidence is not None:
            relationship["confidence"] = initiator.confidence
        objects.append(relationship)
    for index, victim in enumerate(record.victims):
        identity_id = _id("identity", record.source, record.key, str(index))
        identity: dict[str, Any] = {
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_id,
            "created": created,
            "modified": record.modified,
            "name": victim.name or _victim_label(victim),
            "identity_class": "organization" if victim.name else "class",
        }
        if victim.sectors:
            identity["sectors"] = victim.sectors
        if victim.country:
            identity["x_threatscope_country"] = victim.country
        objects.append(identity)
        objects.append(_relationship(incident_id, "targets", identity_id, record.modified))
    return objects


def source_identity(
    source: str, citation: str | None, licence: str | None, modified: str
) -> dict[str, Any]:
    """The incident source itself, carrying the citation and licence its import declared, so a
    report can credit data whose importer cannot know them (a table through a mapping)."""
    identity: dict[str, Any] = {
        "type": "identity",
        "spec_version": "2.1",
        "id": _id("identity", "incident-source", source),
        "created": _UNDATED,
        "modified": modified,
        "name": source,
        "identity_class": "unknown",
        "x_threatscope_source": source,
    }
    if citation:
        identity["x_threatscope_citation"] = citation
    if licence:
        identity["x_threatscope_licence"] = licence
    return identity


def _victim_label(victim: Victim) -> str:
    what = ", ".join(victim.sectors) or "unspecified sector"
    where = victim.country or victim.raw_country or "unknown country"
    return f"victim ({what}; {where})"


def _relationship(source_ref: str, kind: str, target_ref: str, modified: str) -> dict[str, Any]:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": _id("relationship", source_ref, kind, target_ref),
        "created": _UNDATED,
        "modified": modified,
        "relationship_type": kind,
        "source_ref": source_ref,
        "target_ref": target_ref,
    }
