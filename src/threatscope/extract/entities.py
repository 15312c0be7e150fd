"""Named entities in report text, resolved against the knowledge base.

Actors resolve to the canonical actor (every alias any source gave, e.g. "Brass Typhoon" ->
APT41); malware and tools to the ATT&CK software object when the knowledge base has one, else to
the MISP malpedia/tool cluster shipped in pymispgalaxies; countries to ISO codes; victim sectors
to the sector taxonomy. Each comes with the sentences it was found in.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pycountry

from threatscope.actors.described_nexus import DEMONYMS
from threatscope.countries import country_name
from threatscope.extract.gazetteer import Entry, Gazetteer, Mention
from threatscope.names import normalise_name
from threatscope.store.sqlite import SQLiteStore
from threatscope.taxonomy import sectors

__all__ = ["build_gazetteer", "find_entities"]

_WORD = re.compile(r"\b[a-z][a-z\-]+\b")
_GALAXIES = (("malpedia.json", "malware"), ("ransomware.json", "malware"), ("tool.json", "tool"))
_PLATFORM = re.compile(r"\s*\((?:ELF|Windows|Android|macOS|OSX|iOS|Linux|ESXi|Go|\.NET)\)$", re.I)
# Calendar words are cluster names too ("August", "Sunday"); in reports they are dates.
_CALENDAR = {
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
}


def _galaxy_path(name: str) -> Path:
    import pymispgalaxies

    return Path(pymispgalaxies.__file__).parent / "data/misp-galaxy/clusters" / name


def _kb_entries(store: SQLiteStore) -> tuple[list[Entry], dict[str, Entry]]:
    conn = store.analytics()
    # An ATT&CK id names the group ATT&CK gives it, not the groups other sources list it under
    # (MISP's APT41 cites G0044, ATT&CK's Winnti Group): owned ids replace such aliases.
    entries = [
        Entry("actor", actor_id, name, alias)
        for alias, actor_id, name in conn.execute(
            "SELECT a.alias, m.actor_id, ac.name FROM aliases a"
            " JOIN actor_members m ON m.object_id = a.object_id"
            " JOIN actors ac ON ac.id = m.actor_id"
            " WHERE NOT EXISTS (SELECT 1 FROM external_ids e JOIN actor_members o"
            "  ON o.object_id = e.object_id WHERE e.external_id = a.alias)"
            " UNION SELECT e.external_id, m.actor_id, ac.name FROM external_ids e"
            " JOIN actor_members m ON m.object_id = e.object_id"
            " JOIN actors ac ON ac.id = m.actor_id WHERE e.source_name LIKE 'mitre-%'"
        )
    ]
    software: dict[str, Entry] = {}
    for alias, object_id, name, kind in conn.execute(
        "SELECT a.alias, o.id, o.name, o.type FROM aliases a JOIN objects o ON o.id = a.object_id"
        " WHERE o.type IN ('malware', 'tool') AND o.revoked = 0 ORDER BY o.id"
    ):
        entry = Entry(kind, object_id, name, alias)
        entries.append(entry)
        software.setdefault(normalise_name(alias), entry)
    return entries, software


def _galaxy_entries(software: dict[str, Entry]) -> list[Entry]:
    entries = []
    for file, kind in _GALAXIES:
        doc = json.loads(_galaxy_path(file).read_text(encoding="utf-8"))
        for value in doc.get("values", ()):
            names = [
                _PLATFORM.sub("", name)
                for name in (value["value"], *((value.get("meta") or {}).get("synonyms") or ()))
                if name.casefold() not in _CALENDAR
            ]
            if not names:
                continue
            # One cluster, one key: the ATT&CK object when any of its names is ATT&CK software.
            known = next((software[n] for n in map(normalise_name, names) if n in software), None)
            # Clusters of one name in several galaxies (DarkSide in malpedia twice and in
            # ransomware) are one entity.
            key = known.key if known else f"misp-galaxy:{normalise_name(names[0])}"
            display = known.name if known else names[0]
            entries.extend(Entry(known.kind if known else kind, key, display, n) for n in names)
    return entries


def _country_entries() -> list[Entry]:
    entries = []
    for country in pycountry.countries:
        code = str(country.alpha_2)
        for attribute in ("name", "common_name", "official_name"):
            spelling = getattr(country, attribute, None)
            if spelling:
                entries.append(Entry("country", code, country_name(code), str(spelling)))
    extra = {
        "Russia": "RU",
        "Iran": "IR",
        "North Korea": "KP",
        "South Korea": "KR",
        "Syria": "SY",
        "Vietnam": "VN",
        "Taiwan": "TW",
        "UK": "GB",
        "USA": "US",
        "U.S.": "US",
        "DPRK": "KP",
        "PRC": "CN",
        "Laos": "LA",
        "Moldova": "MD",
        "Venezuela": "VE",
        "Palestine": "PS",
    }
    entries += [Entry("country", code, name, name) for name, code in extra.items()]
    return entries


def _sector_entries() -> list[Entry]:
    taxonomy = sectors()
    return [
        Entry("sector", targets[0], taxonomy.label(targets[0]), phrase)
        for phrase, targets in taxonomy.maps["text"].items()
        if targets
    ]


def _common_words(store: SQLiteStore | None) -> set[str]:
    """Lower-case words of ATT&CK's technique descriptions: ordinary English in this domain."""
    if store is None:
        return set()
    words: set[str] = set()
    for (doc,) in store.analytics().execute(
        "SELECT json_extract(json, '$.description') FROM objects WHERE type = 'attack-pattern'"
    ):
        words.update(_WORD.findall(doc or ""))
    return words


def build_gazetteer(store: SQLiteStore | None) -> Gazetteer:
    entries: list[Entry] = []
    software: dict[str, Entry] = {}
    if store is not None:
        entries, software = _kb_entries(store)
    countries = _country_entries()
    entries += _galaxy_entries(software) + countries + _sector_entries()
    places = {entry.spelling for entry in countries} | set(DEMONYMS)
    return Gazetteer(entries, _common_words(store), places)


def find_entities(gazetteer: Gazetteer, text: str) -> dict[str, list[dict[str, Any]]]:
    """{"actors": [...], "malware": [...], "tools": [...], "countries": [...], "sectors": [...]},
    each entity once with its mentions, most mentioned first."""
    grouped: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    for mention in gazetteer.find(text):
        grouped[(mention.kind, mention.key)].append(mention)
    plural = {
        "actor": "actors",
        "malware": "malware",
        "tool": "tools",
        "country": "countries",
        "sector": "sectors",
    }
    result: dict[str, list[dict[str, Any]]] = {name: [] for name in plural.values()}
    for (kind, key), mentions in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        result[plural[kind]].append(
            {
                "id": key,
                "name": mentions[0].name,
                "count": len(mentions),
                "mentions": [
                    {"text": m.text, "start": m.start, "end": m.end, "sentence": m.sentence}
                    for m in mentions[:5]
                ],
            }
        )
    return result
