"""Named entities in report text, resolved against the knowledge base.

Actors resolve to the canonical actor (every alias any source gave, e.g. "Brass Typhoon" ->
APT41); malware and tools to the ATT&CK software object when the knowledge base has one, else to
the galaxy clusters shipped in pymispgalaxies (malpedia, ransomware, tool, and Tidal Cyber's
software catalogue, which extends ATT&CK's with dual-use software such as Plink, AnyDesk and
WinRAR); countries to ISO codes; victim sectors to the sector taxonomy. Each comes with the
sentences it was found in.

One piece of software is one entity of one type. Galaxy clusters that share a name with each
other or with ATT&CK software are one entity ("brute_ratel" in malpedia, "BruteRatel" in the
tool galaxy and ATT&CK's "Brute Ratel C4"). Its type is ATT&CK's when ATT&CK knows it, else
Tidal's (which applies ATT&CK's definitions: a tool is publicly available software that
defenders and red teams use too), else the galaxies' when they agree, else malware: the tool
galaxy "includes malware", the malware galaxies do not include plain tools.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pycountry

from threatscope.actors.described_nexus import DEMONYMS
from threatscope.countries import country_name
from threatscope.extract import gazetteer_cache
from threatscope.extract.gazetteer import Entry, Gazetteer, Mention
from threatscope.names import normalise_name
from threatscope.store.base import Store
from threatscope.taxonomy import sectors

__all__ = ["build_gazetteer", "find_entities"]

_WORD = re.compile(r"(?<![\w./\\-])[a-z][a-z\-]+\b(?![./\\]\w)")
# Bounded, and a citation or link holds no opening of its own kind: an unclosed "(Citation:",
# "[" or "<code>" must not send each of many such openings to the end of the text (quadratic,
# issue 11). ATT&CK's longest are 104, 106 and 172 characters; none of its techniques nests one.
_NOT_PROSE = re.compile(
    r"\(Citation:[^()]{0,1000}\)|\[[^\[\]]{0,1000}\]\([^()]{0,1000}\)"
    r"|<code>.{0,1000}?</code>|`[^`\n]*`|https?://\S+",
    re.DOTALL,
)
# (file, kind); None: each cluster states its kind in meta.type.
_GALAXIES: tuple[tuple[str, str | None], ...] = (
    ("malpedia.json", "malware"),
    ("ransomware.json", "malware"),
    ("tool.json", "tool"),
    ("tidal-software.json", None),
)
_KINDS = ("malware", "tool")
_LOLBAS = "Living Off The Land Binaries"
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
    # Found without importing pymispgalaxies, which imports jsonschema (a fifth of a second
    # of every `extract`) to validate what we only read.
    spec = importlib.util.find_spec("pymispgalaxies")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pymispgalaxies")
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "data/misp-galaxy/clusters" / name


def _kb_entries(store: Store) -> tuple[list[Entry], dict[str, Entry]]:
    # An ATT&CK id names the group ATT&CK gives it, not the groups other sources list it under
    # (MISP's APT41 cites G0044, ATT&CK's Winnti Group): owned ids replace such aliases.
    entries = [
        Entry("actor", actor_id, name, alias)
        for alias, actor_id, name in store.gazetteer_actor_names()
    ]
    software: dict[str, Entry] = {}
    for alias, object_id, name, kind in store.gazetteer_software_names():
        # STIX requires a name, but a store may hold a nameless object: its alias names it.
        entry = Entry(kind, object_id, name or alias, alias)
        entries.append(entry)
        software.setdefault(normalise_name(alias), entry)
    return entries, software


@dataclass
class _Cluster:
    names: list[str]
    kind: str  # malware or tool: the galaxy's, else the cluster's own stated type
    typed: bool  # the kind comes from a catalogue that applies ATT&CK's definitions (Tidal)


def _galaxy_clusters() -> list[_Cluster]:
    clusters = []
    for file, kind in _GALAXIES:
        doc = orjson.loads(_galaxy_path(file).read_bytes())  # 4x the json module's speed
        for value in doc.get("values", ()):
            meta = value.get("meta") or {}
            names = [
                _PLATFORM.sub("", name)
                for name in (value["value"], *(meta.get("synonyms") or ()))
                if name.casefold() not in _CALENDAR
            ]
            stated = [k for k in meta.get("type") or () if k in _KINDS] if kind is None else []
            # Tidal's LOLBAS entries are Windows' own binaries (Excel, Explorer, Control): their
            # abuse is an ATT&CK technique, and their names are everyday words in reports.
            lolbas = _LOLBAS in (value.get("description") or "")
            if names and (kind or stated) and not lolbas:
                clusters.append(_Cluster(names, kind or stated[0], kind is None))
    return clusters


def _galaxy_entries(software: dict[str, Entry]) -> list[Entry]:
    clusters = _galaxy_clusters()
    # One cluster, one key: the ATT&CK object when any of its names is ATT&CK software, either
    # directly or through another cluster that is ("brute_ratel" is the tool galaxy's
    # "BruteRatel", which is ATT&CK's Brute Ratel C4). Clusters of one name in several
    # galaxies (DarkSide in malpedia twice and in ransomware) are one entity.
    linked = dict(software)
    for cluster in clusters:
        norms = [normalise_name(n) for n in cluster.names]
        known = next((software[n] for n in norms if n in software), None)
        if known is not None:
            for norm in norms:
                linked.setdefault(norm, known)
    by_key: dict[str, list[_Cluster]] = defaultdict(list)
    display: dict[str, Entry] = {}
    for cluster in clusters:
        known = next((linked[n] for n in map(normalise_name, cluster.names) if n in linked), None)
        key = known.key if known else f"misp-galaxy:{normalise_name(cluster.names[0])}"
        by_key[key].append(cluster)
        if known is not None:
            display[key] = known
    entries: list[Entry] = []
    for key, members in by_key.items():
        known = display.get(key)
        kind = known.kind if known else _galaxy_kind(members)
        name = known.name if known else members[0].names[0]
        names = dict.fromkeys(n for cluster in members for n in cluster.names)
        entries.extend(Entry(kind, key, name, n) for n in names)
    return entries


def _galaxy_kind(members: list[_Cluster]) -> str:
    typed = {c.kind for c in members if c.typed}
    if len(typed) == 1:
        return typed.pop()
    kinds = {c.kind for c in members}
    return kinds.pop() if len(kinds) == 1 else "malware"


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


def _common_words(store: Store | None) -> set[str]:
    """Lower-case words of ATT&CK's technique prose: ordinary English in this domain. Command
    lines, link texts ("[certutil](…/S0160)") and citations are names, not prose."""
    if store is None:
        return set()
    words: set[str] = set()
    for doc in store.technique_descriptions():
        words.update(_WORD.findall(_NOT_PROSE.sub(" ", doc or "")))
    return words


def build_gazetteer(store: Store | None) -> Gazetteer:
    """The gazetteer for `store`: from the user's cache when nothing it is built from changed."""
    key = _cache_key(store)
    gazetteer = gazetteer_cache.load(key)
    if gazetteer is None:
        gazetteer = _built_gazetteer(store)
        gazetteer_cache.save(key, gazetteer)
    return gazetteer


# Bump when the gazetteer's pickled shape changes without a change to the sources hashed below.
_CACHE_FORMAT = 1
# Code whose change changes the gazetteer: it is part of the cache key.
_SOURCES = ("extract/entities.py", "extract/gazetteer.py", "extract/name_automaton.py",
            "names.py", "countries.py", "actors/described_nexus.py", "taxonomy/sectors.py",
            "taxonomy/sectors.toml")  # fmt: skip


def _cache_key(store: Store | None) -> str:
    """What the gazetteer is built from: the knowledge base's names and technique prose (the
    rows themselves, cheap to read; building on them is what costs), the data packages'
    releases and files, and our code."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{_CACHE_FORMAT}".encode())
    for package in ("pymispgalaxies", "pycountry"):
        digest.update(f"|{package} {version(package)}".encode())
    for file, _ in _GALAXIES:
        info = _galaxy_path(file).stat()
        digest.update(f"|{file} {info.st_size} {info.st_mtime_ns}".encode())
    package_dir = Path(__file__).resolve().parent.parent
    for source in _SOURCES:
        digest.update(source.encode() + (package_dir / source).read_bytes())
    if store is not None:
        for rows in (
            store.gazetteer_actor_names(),
            store.gazetteer_software_names(),
            store.technique_descriptions(),
        ):
            digest.update(repr(rows).encode())
    return digest.hexdigest()


def _built_gazetteer(store: Store | None) -> Gazetteer:
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
