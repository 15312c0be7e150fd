"""Incident objects -> the flat fact rows the landscape aggregates (see store/schema.sql).

Rebuilt inside the import transaction whenever an import changes objects, like the actor tables,
so analytics never see a half-imported file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from threatscope.countries import names_no_country
from threatscope.days import EPOCH, day_of_iso
from threatscope.store.base import IncidentFacts, Writer
from threatscope.taxonomy import CATEGORIES

__all__ = ["EPOCH", "facts_of", "refresh_incident_facts"]

def facts_of(
    incident: dict[str, Any], source: str, techniques: dict[str, str] | None = None
) -> IncidentFacts:
    """`techniques` maps ATT&CK names and ids (casefolded) to ids, so "Phishing" and "T1566"
    count as one technique; values it does not know are kept as written."""
    initiators: list[tuple[str, str | None, str | None]] = []
    labels: list[tuple[str, str]] = []
    for entry in incident.get("x_threatscope_initiators") or ():
        if not isinstance(entry, dict):
            continue
        category = entry.get("category")
        raw = entry.get("raw_country")
        if not entry.get("country") and isinstance(raw, str) and names_no_country(raw):
            labels.append(("unmapped-actor-country", raw.strip()))
        initiators.append(
            (
                category if category in CATEGORIES else "unknown",
                entry.get("country") or None,
                entry.get("actor_ref") or None,
            )
        )
    victims: list[tuple[int, str | None, str | None]] = []
    for number, entry in enumerate(incident.get("x_threatscope_victims") or ()):
        if not isinstance(entry, dict):
            continue
        country = entry.get("country") or None
        # A victim without a sector still counts once, under no sector.
        sectors: list[str | None] = [s for s in entry.get("sectors") or () if isinstance(s, str)]
        sectors = sectors or [None]
        victims.extend((number, country, sector) for sector in sectors)
        labels.extend(("unmapped-sector", s) for s in entry.get("unmapped_sectors") or ())
        raw = entry.get("raw_country")
        if not country and isinstance(raw, str) and names_no_country(raw):
            labels.append(("unmapped-country", raw.strip()))
    labels.extend(("type", t) for t in incident.get("x_threatscope_incident_types") or ())
    for technique in incident.get("x_threatscope_initial_access") or ():
        text = str(technique).strip()
        labels.append(("technique", (techniques or {}).get(text.casefold(), text)))
    labels.extend(("cve", str(cve).upper()) for cve in incident.get("x_threatscope_cves") or ())
    zero_day = incident.get("x_threatscope_zero_day")
    if isinstance(zero_day, bool):
        labels.append(("zero-day", "yes" if zero_day else "no"))
    return IncidentFacts(
        incident_id=incident["id"],
        day=day_of_iso(incident.get("x_threatscope_first_seen")),
        source=_named_source(incident) or source,
        initiators=initiators,
        victims=victims,
        labels=labels,
    )


def _named_source(incident: dict[str, Any]) -> str | None:
    """The source an incident record names for itself (its first external reference, which our
    incident importers write: `eurepoc`, or the `source =` of an `import table` mapping), so
    `--source` filters on the name the user gave rather than on the importer `table`."""
    if not isinstance(incident.get("x_threatscope_source_row"), dict):
        return None
    references = incident.get("external_references") or ()
    first = references[0] if references and isinstance(references[0], dict) else {}
    name = first.get("source_name")
    return name if isinstance(name, str) and name else None


def _all_facts(writer: Writer) -> Iterator[IncidentFacts]:
    techniques = writer.technique_ids()
    for incident, source in writer.incident_objects():
        yield facts_of(incident, source, techniques)


def refresh_incident_facts(writer: Writer) -> int:
    return writer.replace_incident_facts(_all_facts(writer))
