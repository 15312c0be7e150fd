"""A reviewed extraction: the JSON `extract --json` printed (or the REST API answered), possibly
edited by an analyst, read back into an `Extraction` so that it is stored exactly as `extract
--store` stores one (extraction_bundle, then the import path), never by a second writer.

Everything in it is input: a field of the wrong shape, an IOC type the extractor does not know,
or an object the bundle would build that `import stix` would refuse is an InputError naming the
field, and nothing is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from threatscope.errors import InputError
from threatscope.extract.document import Extraction, extraction_bundle
from threatscope.extract.iocs import Ioc, IocType
from threatscope.extract.patterns import stix_pattern
from threatscope.stix.validate import validate_object
from threatscope.store.base import Store

__all__ = ["ENTITY_KINDS", "reviewed_bundle", "reviewed_extraction"]

ENTITY_KINDS = ("actors", "malware", "tools", "countries", "sectors")
_SOURCE = "<reviewed extraction>"


def _fail(reason: str, where: str | None = None) -> InputError:
    return InputError(_SOURCE, reason, where)


def _text(summary: dict[str, Any], key: str, default: str | None = None) -> str:
    value = summary.get(key, default)
    if not isinstance(value, str) or not value:
        raise _fail("expected a non-empty string", key)
    return value


def _rows(summary: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = summary.get(key, [])
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise _fail("expected a list of objects", key)
    return value


def _ioc(row: dict[str, Any], where: str) -> Ioc:
    try:
        kind = IocType(str(row.get("type")))
    except ValueError:
        raise _fail(f"unknown IOC type {row.get('type')!r}", where) from None
    value, raw, start = row.get("value"), row.get("raw", row.get("value")), row.get("start", 0)
    if not isinstance(value, str) or not value or not isinstance(raw, str):
        raise _fail("value (and raw) must be non-empty strings", where)
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise _fail("start must be a non-negative integer", where)
    lists = row.get("warninglists", [])
    if not isinstance(lists, list) or not all(isinstance(name, str) for name in lists):
        raise _fail("warninglists must be a list of strings", where)
    ioc = Ioc(kind, value, raw, start, start + len(raw), tuple(lists))
    try:
        stix_pattern(ioc)
    except ValueError:
        raise _fail(f"{value!r} is not a {kind.value}", where) from None
    return ioc


def _entities(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    entities: dict[str, list[dict[str, Any]]] = {}
    for kind in ENTITY_KINDS:
        rows = _rows(summary, kind)
        for index, row in enumerate(rows):
            if not isinstance(row.get("id"), str) or not isinstance(row.get("name"), str):
                raise _fail("each entity needs an id and a name (strings)", f"{kind}[{index}]")
        entities[kind] = rows
    return entities


def _techniques(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = _rows(summary, "techniques")
    for index, row in enumerate(rows):
        confidence = row.get("confidence", 1.0)
        if not isinstance(row.get("id"), str) or not isinstance(confidence, int | float):
            reason = "each technique needs an id (string) and a confidence"
            raise _fail(reason, f"techniques[{index}]")
    return [{**row, "confidence": row.get("confidence", 1.0)} for row in rows]


def reviewed_extraction(summary: Any, created: datetime | None = None) -> Extraction:
    """The `Extraction` a (possibly edited) extraction summary describes. `created`: the time
    its objects carry (default: now; the summary has no file to take a time from)."""
    if not isinstance(summary, dict):
        raise _fail("expected the JSON object `extract --json` prints")
    iocs = [_ioc(row, f"iocs[{n}]") for n, row in enumerate(_rows(summary, "iocs"))]
    cves = summary.get("cves", [])
    if not isinstance(cves, list) or not all(isinstance(cve, str) for cve in cves):
        raise _fail("expected a list of CVE ids", "cves")
    iocs += [Ioc(IocType.CVE, cve, cve, 0, len(cve)) for cve in cves]
    sha256 = summary.get("sha256", "")
    if not isinstance(sha256, str):
        raise _fail("expected a string", "sha256")
    stated = _rows(summary, "stated_nexus")
    characters = summary.get("characters", 0)
    if not isinstance(characters, int) or isinstance(characters, bool) or characters < 0:
        raise _fail("expected a non-negative integer", "characters")
    model = summary.get("technique_model", "reviewed")
    if not isinstance(model, str):
        raise _fail("expected a string", "technique_model")
    prose = summary.get("prose_analysed", False)
    if not isinstance(prose, bool):
        raise _fail("expected true or false", "prose_analysed")
    moment = (created or datetime.now(UTC)).astimezone(UTC)
    return Extraction(
        file=_text(summary, "file"),
        sha256=sha256,
        characters=characters,
        iocs=iocs,
        techniques=_techniques(summary),
        entities=_entities(summary),
        technique_model=model,
        created=moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        prose_analysed=prose,
        stated_nexus=stated,
    )


def reviewed_bundle(extraction: Extraction, store: Store | None) -> dict[str, Any]:
    """The extraction's STIX bundle, each object checked as `import stix` checks one (an edited
    id or value must not store what an import would refuse)."""
    bundle = extraction_bundle(extraction, store)
    for index, obj in enumerate(bundle["objects"]):
        problem = validate_object(obj)
        if problem:
            raise _fail(problem, f"object {index} ({obj.get('id')})")
    return bundle
