"""`import kev PATH`: CISA Known Exploited Vulnerabilities as STIX `vulnerability` objects.

Ids are UUIDv5 of the CVE id, so every import of the same CVE names the same object. `created`
is the date CISA added it; `modified` is the catalogue's release time, so a newer catalogue
replaces older entries and the same catalogue changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from threatscope.errors import InputError
from threatscope.files import MiB, read_json
from threatscope.ids import is_cve_id
from threatscope.sources.base import Source, producer_identity, register
from threatscope.stix import normalise_timestamp

__all__ = ["CISA_IDENTITY", "kev_to_stix", "load_kev", "vulnerability_id"]

CISA_IDENTITY = "identity--2a8f1f56-30a6-4d5b-8a24-6d2f2c1a7b10"
_NAMESPACE = uuid.UUID("8a0f6e8e-6f5b-4f63-9a77-3c1b0e3f5c21")
_FIELDS = {
    "vendorProject": "x_kev_vendor_project",
    "product": "x_kev_product",
    "vulnerabilityName": "x_kev_vulnerability_name",
    "dateAdded": "x_kev_date_added",
    "requiredAction": "x_kev_required_action",
    "dueDate": "x_kev_due_date",
    "knownRansomwareCampaignUse": "x_kev_known_ransomware_campaign_use",
    "notes": "x_kev_notes",
    "cwes": "x_kev_cwes",
}


def vulnerability_id(cve: str) -> str:
    return f"vulnerability--{uuid.uuid5(_NAMESPACE, cve.upper())}"


# The catalogue is 1.3 MB after three years of growth.
MAX_BYTES = 64 * MiB


def load_kev(path: Path) -> list[dict[str, Any]]:
    doc = read_json(path, "the KEV JSON feed", MAX_BYTES)
    return kev_to_stix(doc, str(path))


def _released(doc: dict[str, Any], file: str) -> str:
    raw = doc.get("dateReleased")
    if isinstance(raw, str):
        # CISA writes 4-digit fractions and sometimes none; STIX wants `...Z` with any precision.
        text = raw if raw.endswith("Z") else raw + "Z"
        if normalise_timestamp(text):
            return text
    raise InputError(file, f"'dateReleased' is not a timestamp: {raw!r}")


def kev_to_stix(doc: Any, file: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise InputError(file, "not a CISA KEV feed: no 'vulnerabilities' list")
    released = _released(doc, file)
    objects: list[dict[str, Any]] = [
        producer_identity(
            CISA_IDENTITY,
            "CISA Known Exploited Vulnerabilities catalog",
            "2021-11-03T00:00:00.000Z",
        )
    ]
    for index, entry in enumerate(doc["vulnerabilities"]):
        where = f"vulnerability {index}"
        if not isinstance(entry, dict):
            raise InputError(file, "expected a JSON object", where=where)
        cve = entry.get("cveID")
        if isinstance(cve, str):
            where += f" ({cve})"
        if not isinstance(cve, str) or not is_cve_id(cve.strip()):
            raise InputError(file, f"invalid 'cveID': {cve!r}", where=where)
        cve = cve.strip()
        added = entry.get("dateAdded")
        try:
            added_day = date.fromisoformat(added) if isinstance(added, str) else None
        except ValueError:
            added_day = None
        if added_day is None:
            raise InputError(file, f"invalid 'dateAdded': {added!r}", where=where)
        created = f"{added_day.isoformat()}T00:00:00.000Z"
        obj: dict[str, Any] = {
            "type": "vulnerability",
            "spec_version": "2.1",
            "id": vulnerability_id(cve),
            "created": created,
            # Both are valid timestamps (checked above), so neither normalises to None.
            "modified": max(released, created, key=lambda stamp: normalise_timestamp(stamp) or ""),
            "created_by_ref": CISA_IDENTITY,
            "name": cve,
            "external_references": [
                {"source_name": "cve", "external_id": cve},
                {
                    "source_name": "cisa-kev",
                    "url": "https://www.cisa.gov/known-exploited-vulnerabilities-catalog",
                },
            ],
            "x_kev_catalog_version": doc.get("catalogVersion"),
        }
        if isinstance(entry.get("shortDescription"), str):
            obj["description"] = entry["shortDescription"]
        for field, prop in _FIELDS.items():
            if field in entry:
                value = entry[field]
                if not _well_typed(field, value):
                    expected = "a list of strings" if field == "cwes" else "a string"
                    raise InputError(file, f"'{field}' must be {expected}, got {value!r}", where)
                obj[prop] = value
        objects.append(obj)
    return objects


def _well_typed(field: str, value: Any) -> bool:
    if field == "cwes":
        return isinstance(value, list) and all(isinstance(cwe, str) for cwe in value)
    return isinstance(value, str)


register(
    Source(
        "kev",
        "CISA Known Exploited Vulnerabilities JSON feed",
        load_kev,
        citation="CISA Known Exploited Vulnerabilities Catalog, Cybersecurity and Infrastructure "
        "Security Agency, https://www.cisa.gov/known-exploited-vulnerabilities-catalog",
        licence="CC0 1.0 (public domain dedication)",
        public=True,
    )
)
