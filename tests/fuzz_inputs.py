"""Hypothesis strategies for hostile importer input (issue 11): STIX bundles, ATT&CK, the MISP
galaxy, CISA KEV, EuRepoC exports, `import table` tables with their TOML mappings.

Each generator mixes well-formed structure (so the input gets past the first check and reaches
the code behind it: actor resolution, incident facts, the landscape) with hostile values in
every slot: wrong JSON types, huge integers, empty and markup strings, dates before 1970 or after
9999, ids shared by several rows.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypothesis import strategies as st

from threatscope.sources.table import FIELDS

# Values real importers meet and the code has special cases for.
INTERESTING = (
    "",
    " ",
    "[/]",
    "[bold]x",
    "\x1b]8;;http://x\x07",
    "0",
    "-1",
    "101",
    "1969-12-31",
    "1970-01-01",
    "0001-01-01",
    "2025-01-01",
    "2025-13-45",
    "9999-12-31",
    "2025",
    "2025-06",
    "2025-01-01T00:00:00.000Z",
    "9999-12-31T23:59:59.999Z",
    "CVE-2023-23397",
    "CVE-2024-3400",
    "cve-2024-1",
    "T1566",
    "T1566.001",
    "Phishing",
    "RU",
    "Russia",
    "Korea, Democratic People's Republic of",
    "unknown",
    "Not available",
    "state",
    "state-affiliated",
    "criminal",
    "Nation-state",
    "APT28",
    "Fancy Bear/APT28/Group G0007 (GRU)",
    "G0007",
    "espionage",
    "Data theft & doxing",
    "finance",
    "government",
    "518210",
    "https://example.org/a",
    "['China']",
    "[['Not available']]",
    "[",
    "(((",
    "is a Russian state-sponsored group",
    "a;b;;c",
)

TEXT = st.one_of(st.sampled_from(INTERESTING), st.text(max_size=24))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.one_of(st.sampled_from(("id", "name", "nexus")), TEXT), children, max_size=3
        )
    ),
    max_leaves=6,
)


def dumps(doc: Any) -> bytes:
    """JSON as any producer may write it (`json`: orjson refuses integers past 64 bits)."""
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the well-shaped value, one time in ten any JSON at all: an input with several
    slots then still often gets past validation to the code behind it."""
    return st.one_of(*[strategy] * 9, JSON)


def _strings() -> st.SearchStrategy[Any]:
    return maybe(st.lists(maybe(TEXT), max_size=3))


def _entries(keys: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    return maybe(st.lists(maybe(st.fixed_dictionaries({}, optional=keys)), max_size=3))


TIMESTAMPS = st.one_of(
    st.sampled_from(
        (
            "1960-01-01T00:00:00.000Z",
            "1970-01-01T00:00:00Z",
            "2020-01-01T00:00:00.000Z",
            "2025-06-01T12:00:00.123456Z",
            "9999-12-31T23:59:59.999Z",
            "0001-01-01T00:00:00Z",
        )
    ),
    st.datetimes().map(lambda d: f"{d.year:04d}-{d:%m-%dT%H:%M:%S.%f}Z"),
)


@st.composite
def versions(draw: st.DrawFn) -> tuple[Any, Any]:
    """(created, modified): in order, or one time in twenty anything at all."""
    created, modified = sorted(draw(st.lists(TIMESTAMPS, min_size=2, max_size=2)))
    if draw(st.integers(min_value=0, max_value=19)) == 0:
        return draw(JSON), draw(TIMESTAMPS)
    if draw(st.integers(min_value=0, max_value=19)) == 0:
        return modified, created
    return created, modified


STIX_TYPES = (
    "intrusion-set",
    "threat-actor",
    "incident",
    "identity",
    "attack-pattern",
    "malware",
    "tool",
    "campaign",
    "vulnerability",
    "report",
    "indicator",
    "location",
    "x-mitre-matrix",
    "course-of-action",
)
_VICTIM = {k: maybe(TEXT) for k in ("name", "country", "raw_country")} | {
    k: _strings() for k in ("sectors", "raw_sectors", "unmapped_sectors")
}
_INITIATOR = {
    k: maybe(TEXT) for k in ("name", "country", "category", "raw_country", "raw_category")
} | {"actor_ref": maybe(st.sampled_from(("threat-actor--11111111-1111-4111-8111-111111111111",)))}
_REFERENCE = {
    "source_name": maybe(st.sampled_from(("mitre-attack", "cve", "eurepoc", "table", "report"))),
    "external_id": maybe(
        st.sampled_from(("G0007", "T1566", "T1566.001", "S0001", "CVE-2023-23397"))
    ),
    "url": maybe(TEXT),
}
PROPERTIES: dict[str, st.SearchStrategy[Any]] = {
    "name": maybe(TEXT),
    "description": maybe(TEXT),
    "aliases": _strings(),
    "x_mitre_aliases": _strings(),
    "labels": _strings(),
    "first_seen": maybe(TIMESTAMPS),
    "last_seen": maybe(TIMESTAMPS),
    "published": maybe(TIMESTAMPS),
    "sectors": _strings(),
    "confidence": maybe(st.integers(min_value=-5, max_value=105)),
    "primary_motivation": maybe(TEXT),
    "secondary_motivations": _strings(),
    "threat_actor_types": _strings(),
    "indicator_types": _strings(),
    "pattern": maybe(
        st.sampled_from(("[ipv4-addr:value = '1.2.3.4']", "[domain-name:value = 'a.b']"))
    ),
    "external_references": _entries(_REFERENCE),
    "kill_chain_phases": JSON,
    "x_mitre_deprecated": JSON,
    "x_mitre_domains": _strings(),
    "x_mitre_version": maybe(TEXT),
    "x_mitre_is_subtechnique": JSON,
    "is_family": JSON,
    "country": maybe(TEXT),
    "x_threatscope_nexus": maybe(TEXT),
    "x_threatscope_nexus_claims": _entries({"nexus": maybe(TEXT), "basis": maybe(TEXT)}),
    "x_threatscope_motivations": _strings(),
    "x_threatscope_target_sectors": _strings(),
    "x_threatscope_target_countries": _strings(),
    "x_threatscope_first_seen": maybe(TEXT),
    "x_threatscope_last_seen": maybe(TEXT),
    "x_threatscope_incident_types": _strings(),
    "x_threatscope_initiators": _entries(_INITIATOR),
    "x_threatscope_victims": _entries(_VICTIM),
    "x_threatscope_initial_access": _strings(),
    "x_threatscope_cves": _strings(),
    "x_threatscope_zero_day": JSON,
    "x_threatscope_source_row": maybe(
        st.fixed_dictionaries({"file": maybe(TEXT), "row": maybe(st.integers())})
    ),
    "x_threatscope_country": maybe(TEXT),
    "x_threatscope_source": maybe(TEXT),
    "x_threatscope_citation": maybe(TEXT),
    "x_threatscope_licence": maybe(TEXT),
    "x_threatscope_techniques": _entries({"id": maybe(TEXT), "name": maybe(TEXT)}),
    "x_threatscope_sectors": _strings(),
    "x_threatscope_countries": _strings(),
    "x_threatscope_warninglists": _strings(),
    "x_kev_vendor_project": maybe(TEXT),
    "x_kev_product": maybe(TEXT),
    "x_kev_date_added": maybe(TEXT),
    "x_kev_known_ransomware_campaign_use": maybe(TEXT),
}
RELATIONSHIP_TYPES = ("uses", "attributed-to", "targets", "subtechnique-of", "revoked-by", "x")


@st.composite
def stix_objects(draw: st.DrawFn, attack: bool = False) -> list[dict[str, Any]]:
    kinds = draw(st.lists(st.sampled_from(STIX_TYPES), min_size=1, max_size=5))
    objects: list[dict[str, Any]] = []
    for kind in kinds:
        created, modified = draw(versions())
        obj: dict[str, Any] = {
            "type": kind,
            "spec_version": draw(st.sampled_from(("2.1", "2.1", "2.0"))),
            "id": f"{kind}--{draw(st.uuids(version=4))}",
            "created": created,
            "modified": modified,
        }
        keys = draw(st.lists(st.sampled_from(sorted(PROPERTIES)), max_size=6, unique=True))
        obj.update({key: draw(PROPERTIES[key]) for key in keys})
        objects.append(obj)
    ids = [o["id"] for o in objects]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        created, modified = draw(versions())
        objects.append(
            {
                "type": "relationship",
                "spec_version": "2.1",
                "id": f"relationship--{draw(st.uuids(version=4))}",
                "created": created,
                "modified": modified,
                "relationship_type": draw(st.sampled_from(RELATIONSHIP_TYPES)),
                "source_ref": draw(st.sampled_from(ids)),
                "target_ref": draw(st.sampled_from(ids)),
                **({"confidence": draw(JSON)} if draw(st.booleans()) else {}),
            }
        )
    if attack:
        objects.append(
            {
                "type": "x-mitre-matrix",
                "spec_version": "2.1",
                "id": f"x-mitre-matrix--{draw(st.uuids(version=4))}",
                "created": "2020-01-01T00:00:00.000Z",
                "modified": "2020-01-01T00:00:00.000Z",
                "name": "Enterprise ATT&CK",
            }
        )
    return objects


@st.composite
def bundles(draw: st.DrawFn, attack: bool = False) -> bytes:
    objects = draw(stix_objects(attack=attack))
    # Mostly a bundle; sometimes any JSON, the bare list of objects, or one bare object.
    shape = draw(st.sampled_from(("bundle",) * 17 + ("json", "list", "bare")))
    doc: Any = {"type": "bundle", "id": f"bundle--{draw(st.uuids(version=4))}", "objects": objects}
    if shape == "json":
        doc = draw(JSON)
    elif shape == "list":
        doc = objects
    elif shape == "bare":
        doc = objects[0]
    return dumps(doc)


_GALAXY_META = {
    key: maybe(st.one_of(TEXT, st.lists(TEXT, max_size=3)))
    for key in (
        "country",
        "cfr-suspected-state-sponsor",
        "cfr-suspected-victims",
        "cfr-target-category",
        "targeted-sector",
        "motive",
        "cfr-type-of-incident",
        "synonyms",
        "refs",
    )
}


@st.composite
def galaxies(draw: st.DrawFn) -> bytes:
    values = draw(
        maybe(
            st.lists(
                maybe(
                    st.fixed_dictionaries(
                        {
                            "value": maybe(TEXT),
                            "uuid": maybe(st.uuids().map(str)),
                        },
                        optional={
                            "description": maybe(TEXT),
                            "meta": maybe(st.fixed_dictionaries({}, optional=_GALAXY_META)),
                            "related": JSON,
                        },
                    )
                ),
                max_size=4,
            )
        )
    )
    doc = {
        "type": draw(maybe(st.just("threat-actor"))),
        "version": draw(maybe(st.integers(min_value=-2, max_value=10**10))),
        "values": values,
    }
    return dumps(doc)


CVES = st.sampled_from(("CVE-2023-23397", "CVE-2024-3400", "CVE-2023-46805", "CVE-2021-44228"))
_KEV_FIELDS = {
    key: maybe(TEXT)
    for key in (
        "vendorProject",
        "product",
        "vulnerabilityName",
        "shortDescription",
        "requiredAction",
        "dueDate",
        "knownRansomwareCampaignUse",
        "notes",
    )
} | {"cwes": _strings()}


@st.composite
def kev_feeds(draw: st.DrawFn) -> bytes:
    entries = draw(
        maybe(
            st.lists(
                maybe(
                    st.fixed_dictionaries(
                        {
                            "cveID": maybe(CVES),
                            "dateAdded": maybe(st.one_of(st.dates().map(str), TEXT)),
                        },
                        optional=_KEV_FIELDS,
                    )
                ),
                max_size=4,
            )
        )
    )
    doc = {
        "catalogVersion": draw(JSON),
        "dateReleased": draw(maybe(TIMESTAMPS)),
        "vulnerabilities": entries,
    }
    return dumps(doc)


def _csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


_LITERALS = st.one_of(
    TEXT,
    st.lists(st.one_of(TEXT, st.lists(TEXT, max_size=2)), max_size=3).map(repr),
)
EUREPOC_GLOBAL = (
    "ID",
    "name",
    "description",
    "start_date",
    "end_date",
    "incident_type",
    "initiator_name",
    "initiator_country",
    "initiator_category",
    "initiator_category_subcode",
    "receiver_name",
    "receiver_country",
    "receiver_category",
    "receiver_category_subcode",
    "MITRE_initial_access",
    "zero_days",
    "sources_url",
)
EUREPOC_REDUCED = (
    "start_date",
    "incident_type",
    "receiver_country",
    "receiver_category",
    "receiver_region",
    "initiator_country",
    "initiator_category",
)


@st.composite
def eurepoc_exports(draw: st.DrawFn) -> str:
    header = list(draw(st.sampled_from((EUREPOC_GLOBAL, EUREPOC_REDUCED))))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        header = header[: draw(st.integers(min_value=0, max_value=len(header)))]
    dates = st.one_of(st.dates().map(str), st.just(""), st.sampled_from(("2025", "2025-06")))
    cells = [maybe(dates) if column.endswith("_date") else _LITERALS for column in header]
    rows = draw(st.lists(st.tuples(*cells).map(list), max_size=4))
    if rows and draw(st.integers(min_value=0, max_value=9)) == 0:
        rows[-1] = rows[-1][:-1]  # a truncated last line
    return _csv(header, rows)


# -- `import table`: a mapping and a table ------------------------------------------------------

TABLE_FIELDS = FIELDS  # the mapping's field names, as `import table` knows them
_SETTINGS: dict[str, st.SearchStrategy[Any]] = {
    "date_format": maybe(st.sampled_from(("%d/%m/%Y", "%Y-%m-%d", "%Y", "%"))),
    "sector_scheme": maybe(st.sampled_from(("stix", "naics", "eurepoc", "cfr", "nope"))),
    "format": maybe(st.sampled_from(("csv", "tsv", "jsonl", "xml"))),
    "delimiter": maybe(st.sampled_from((",", ";", "\t", ";;", "", '"', "\n"))),
    "encoding": maybe(st.sampled_from(("utf-8", "utf-8-sig", "latin-1", "utf-16", "rot13", "x"))),
    "source": maybe(TEXT),
    "citation": maybe(TEXT),
    "licence": maybe(TEXT),
}
COLUMN_NAMES = ("ref", "seen", "group", "country", "kind", "org", "cves", "conf", "sector")


def toml_value(value: Any) -> str:
    """`value` as a TOML value (strings JSON-quoted, which TOML basic strings accept)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value == value and abs(value) != float("inf") else "nan"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(
                f"{json.dumps(str(k), ensure_ascii=False)} = {toml_value(v)}"
                for k, v in value.items()
                if v is not None
            )
            + "}"
        )
    return '""'


def toml_document(tables: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines.extend(
            f"{json.dumps(str(key), ensure_ascii=False)} = {toml_value(value)}"
            for key, value in table.items()
            if value is not None
        )
    return "\n".join(lines) + "\n"


@st.composite
def mappings(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    columns: dict[str, Any] = {"date": draw(maybe(st.sampled_from(COLUMN_NAMES)))}
    for field in draw(st.lists(st.sampled_from(TABLE_FIELDS), max_size=8, unique=True)):
        columns[field] = draw(maybe(st.sampled_from(COLUMN_NAMES)))
    for key in draw(st.lists(st.sampled_from(sorted(_SETTINGS)), max_size=3, unique=True)):
        columns[key] = draw(_SETTINGS[key])
    tables: dict[str, dict[str, Any]] = {"columns": columns}
    if draw(st.booleans()):
        tables["split"] = {
            field: draw(maybe(st.sampled_from((";", "/", "", " "))))
            for field in draw(st.lists(st.sampled_from(TABLE_FIELDS), max_size=3, unique=True))
        }
    for field in draw(st.lists(st.sampled_from(TABLE_FIELDS), max_size=2, unique=True)):
        tables[f"values.{field}"] = draw(
            st.dictionaries(TEXT, maybe(st.sampled_from(INTERESTING)), max_size=3)
        )
    if draw(st.booleans()):
        tables["defaults"] = {
            field: draw(maybe(st.sampled_from(INTERESTING)))
            for field in draw(st.lists(st.sampled_from(TABLE_FIELDS), max_size=3, unique=True))
        }
    extra = draw(st.sampled_from(("",) * 27 + ("colums", "value.sector", "split.x")))
    if extra:
        tables[extra] = {"x": 1}
    return tables


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """(file suffix, mapping TOML, table bytes)."""
    mapping = draw(mappings())
    suffix = draw(st.sampled_from((".csv", ".csv", ".tsv", ".jsonl")))
    header = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=6, unique=True))
    cell = st.one_of(TEXT, st.dates().map(str), st.dates().map(lambda d: d.strftime("%d/%m/%Y")))
    rows = draw(st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), max_size=4))
    if rows and draw(st.booleans()):
        rows.append(list(rows[0]))  # the same id twice
    if suffix == ".jsonl":
        lines = [
            json.dumps(dict(zip(header, row, strict=True))) if row[0] else draw(TEXT)
            for row in rows
        ]
        text = "\n".join(lines)
    else:
        text = _csv(header, rows, "\t" if suffix == ".tsv" else ",")
    return suffix, toml_document(mapping), text.encode("utf-8")
