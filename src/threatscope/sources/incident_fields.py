"""Cell values as incident sources write them -> the normalised parts of an IncidentRecord.

Unknown spellings are kept and listed (`unmapped_sectors`, `raw_country` without `country`), not
dropped, so the landscape can say what it could not place.
"""

from __future__ import annotations

from datetime import date

from threatscope.countries import to_iso2
from threatscope.sources.incidents import Initiator, Victim
from threatscope.taxonomy import normalise_category, sectors

__all__ = ["INCIDENT_TYPES", "initiator", "normalise_types", "parse_day", "victim"]

# Incident types ThreatScope reports on, and the wording sources use for them.
INCIDENT_TYPES = (
    "espionage",
    "data-theft",
    "doxing",
    "disruption",
    "destruction",
    "hijacking",
    "ransomware",
    "influence",
    "other",
)
_TYPE_WORDING = {
    "data theft": ("data-theft",),
    "data theft & doxing": ("data-theft", "doxing"),
    "doxing": ("doxing",),
    "espionage": ("espionage",),
    "cyber espionage": ("espionage",),
    "disruption": ("disruption",),
    "ddos": ("disruption",),
    "defacement": ("disruption",),
    "destruction": ("destruction",),
    "wiper": ("destruction",),
    "sabotage": ("destruction",),
    "hijacking with misuse": ("hijacking",),
    "hijacking without misuse": ("hijacking",),
    "hijacking": ("hijacking",),
    "ransomware": ("ransomware",),
    "influence operation": ("influence",),
    "not available": (),
    "unknown": (),
    "": (),
}
# Victim "countries" that name a region or nothing at all: not errors, just not a country.
_NOT_A_COUNTRY = {"unknown", "not available", "", "n/a"}


def parse_day(text: str | None) -> date | None:
    """`2024-05-17`, `2024-05` or `2024` (first day of the period); None when empty.
    Raises ValueError on anything else."""
    text = (text or "").strip()
    if not text:
        return None
    parts = text[:10].split("-")
    if len(parts) == 1 and len(parts[0]) == 4:
        return date(int(parts[0]), 1, 1)
    if len(parts) == 2:
        return date(int(parts[0]), int(parts[1]), 1)
    return date.fromisoformat(text[:10])


def normalise_types(values: list[str]) -> tuple[list[str], list[str]]:
    """(types, unmapped wording)."""
    types: list[str] = []
    unmapped: list[str] = []
    for value in values:
        key = " ".join(value.split()).casefold()
        mapped = _TYPE_WORDING.get(key)
        if mapped is None and key in INCIDENT_TYPES:
            mapped = (key,)
        if mapped is None:
            unmapped.append(value.strip())
            mapped = ("other",)
        types.extend(t for t in mapped if t not in types)
    return types, unmapped


def victim(
    name: str | None, raw_country: str | None, raw_sectors: list[str], scheme: str
) -> Victim:
    taxonomy = sectors()
    mapped: list[str] = []
    unmapped: list[str] = []
    for raw in raw_sectors:
        if not raw.strip():
            continue
        found = taxonomy.map(scheme, raw)
        if found is None:
            unmapped.append(raw.strip())
        mapped.extend(s for s in found or () if s not in mapped)
    country = to_iso2(raw_country) if raw_country else None
    clean_name = (name or "").strip()
    return Victim(
        name=None if clean_name.casefold() in _NOT_A_COUNTRY else clean_name,
        country=country,
        sectors=mapped,
        raw_country=(raw_country or "").strip() or None,
        raw_sectors=[r.strip() for r in raw_sectors if r.strip()],
        unmapped_sectors=unmapped,
    )


def initiator(
    name: str | None,
    raw_country: str | None,
    raw_category: str | None,
    subcode: str | None = None,
    confidence: int | None = None,
) -> Initiator:
    """Raises ValueError for a category wording nobody has mapped."""
    category = normalise_category(raw_category, subcode)
    if category is None:
        raise ValueError(f"unknown actor category {raw_category!r}")
    clean_name = (name or "").strip()
    return Initiator(
        name=None if clean_name.casefold() in _NOT_A_COUNTRY else clean_name,
        country=to_iso2(raw_country) if raw_country else None,
        category=category,
        raw_country=(raw_country or "").strip() or None,
        raw_category=(raw_category or "").strip() or None,
        confidence=confidence,
    )
