"""The shape of every property ThreatScope reads from an object, checked before anything is
stored.

A bundle (or an importer) may carry any value anywhere; what actor resolution, incident facts,
the landscape and attribution later read must have the type they expect, or the failure comes
after the import was committed, and again on every later command. So a property we interpret
with the wrong shape refuses the object up front, naming the property. Properties we do not read
are left to their producers, as STIX intends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["property_problem"]

Check = Callable[[Any], bool]


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _optional_string(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _optional_bool(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _confidence(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100


def _row(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and _string(value.get("file", ""))
        and isinstance(value.get("row", 0), int)
        and not isinstance(value.get("row"), bool)
    )


def _entries(fields: dict[str, Check]) -> Check:
    """A list of JSON objects whose listed fields, when present, pass their checks."""

    def check(value: Any) -> bool:
        return isinstance(value, list) and all(
            isinstance(entry, dict)
            and all(name not in entry or ok(entry[name]) for name, ok in fields.items())
            for entry in value
        )

    return check


# (check, what the property must be: said in the error)
_SHAPES: dict[str, tuple[Check, str]] = {
    "name": (_string, "a string"),
    "description": (_string, "a string"),
    "first_seen": (_string, "a string"),
    "last_seen": (_string, "a string"),
    "published": (_string, "a string"),
    "pattern": (_string, "a string"),
    "primary_motivation": (_string, "a string"),
    "confidence": (_confidence, "a whole number from 0 to 100"),
    "aliases": (_strings, "a list of strings"),
    "labels": (_strings, "a list of strings"),
    "sectors": (_strings, "a list of strings"),
    "secondary_motivations": (_strings, "a list of strings"),
    "threat_actor_types": (_strings, "a list of strings"),
    "indicator_types": (_strings, "a list of strings"),
    "external_references": (
        _entries({"source_name": _string, "external_id": _string, "url": _string}),
        "a list of objects with string 'source_name', 'external_id' and 'url'",
    ),
    "kill_chain_phases": (
        _entries({"kill_chain_name": _string, "phase_name": _string}),
        "a list of objects with string 'kill_chain_name' and 'phase_name'",
    ),
    "x_mitre_aliases": (_strings, "a list of strings"),
    "x_mitre_domains": (_strings, "a list of strings"),
    "x_threatscope_nexus": (_string, "a string"),
    "x_threatscope_nexus_claims": (
        _entries({"nexus": _string, "basis": _string, "value": _string}),
        "a list of objects with string 'nexus', 'basis' and 'value'",
    ),
    "x_threatscope_motivations": (_strings, "a list of strings"),
    "x_threatscope_target_sectors": (_strings, "a list of strings"),
    "x_threatscope_target_countries": (_strings, "a list of strings"),
    "x_threatscope_first_seen": (_optional_string, "a string or null"),
    "x_threatscope_last_seen": (_optional_string, "a string or null"),
    "x_threatscope_incident_types": (_strings, "a list of strings"),
    "x_threatscope_initiators": (
        _entries(
            {
                "name": _optional_string,
                "country": _optional_string,
                "category": _optional_string,
                "raw_country": _optional_string,
                "raw_category": _optional_string,
                "actor_ref": _optional_string,
            }
        ),
        "a list of objects whose 'name', 'country', 'category', 'raw_country', 'raw_category'"
        " and 'actor_ref' are strings or null",
    ),
    "x_threatscope_victims": (
        _entries(
            {
                "name": _optional_string,
                "country": _optional_string,
                "raw_country": _optional_string,
                "sectors": _strings,
                "raw_sectors": _strings,
                "unmapped_sectors": _strings,
            }
        ),
        "a list of objects whose 'name', 'country' and 'raw_country' are strings or null and"
        " 'sectors', 'raw_sectors' and 'unmapped_sectors' lists of strings",
    ),
    "x_threatscope_initial_access": (_strings, "a list of strings"),
    "x_threatscope_cves": (_strings, "a list of strings"),
    "x_threatscope_zero_day": (_optional_bool, "true, false or null"),
    "x_threatscope_source_row": (_row, "an object with a string 'file' and a whole-number 'row'"),
    "x_threatscope_country": (_string, "a string"),
    "x_threatscope_source": (_string, "a string"),
    "x_threatscope_citation": (_string, "a string"),
    "x_threatscope_licence": (_string, "a string"),
    "x_threatscope_ioc_type": (_string, "a string"),
    "x_threatscope_techniques": (
        _entries({"id": _string, "name": _string}),
        "a list of objects with string 'id' and 'name'",
    ),
    "x_threatscope_sectors": (_strings, "a list of strings"),
    "x_threatscope_countries": (_strings, "a list of strings"),
    "x_threatscope_warninglists": (_strings, "a list of strings"),
    "x_kev_vendor_project": (_string, "a string"),
    "x_kev_product": (_string, "a string"),
    "x_kev_vulnerability_name": (_string, "a string"),
    "x_kev_date_added": (_string, "a string"),
    "x_kev_required_action": (_string, "a string"),
    "x_kev_due_date": (_string, "a string"),
    "x_kev_known_ransomware_campaign_use": (_string, "a string"),
    "x_kev_notes": (_string, "a string"),
    "x_kev_cwes": (_strings, "a list of strings"),
}


def property_problem(obj: dict[str, Any]) -> str | None:
    """Why a property of `obj` that ThreatScope reads has the wrong shape, or None."""
    for key, value in obj.items():
        shape = _SHAPES.get(key)
        if shape is not None and not shape[0](value):
            return f"'{key}' must be {shape[1]}, got {_brief(value)}"
    return None


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
