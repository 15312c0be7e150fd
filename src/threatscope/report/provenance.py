"""Which sources the knowledge base holds, with the citation and licence a report credits them
with, the edition imported where the data says it, and whether each is public.

Built-in importers know their citation and licence (sources/*.py); a table import credits what
its mapping declared (kept on the incident source's identity); anything else says "not declared".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePath

from threatscope.sources import all_sources
from threatscope.store.queries import Analytics

__all__ = ["SourceCredit", "registry_credits", "source_credits"]

_ATTACK_DOMAINS = {
    "enterprise-attack": "Enterprise",
    "ics-attack": "ICS",
    "mobile-attack": "Mobile",
}
_VERSION_IN_NAME = re.compile(r"[-_]v?([0-9]+\.[0-9]+)\.json$")


@dataclass(frozen=True)
class SourceCredit:
    name: str
    citation: str | None
    licence: str | None
    public: bool
    edition: str | None = None
    file: str | None = None
    imported: str | None = None  # date of the latest import that changed anything
    selection: str | None = None


def source_credits(db: Analytics) -> list[SourceCredit]:
    """One entry per importer with current objects, a table import's under the name its mapping
    gave the incidents (`source`), in name order."""
    registry = all_sources()
    latest = {
        source: (path, (finished or "")[:10] or None)
        for source, path, finished in db.changing_imports()
    }
    importers = db.object_sources()
    credits: dict[str, SourceCredit] = {}
    for name in importers:
        if name == "table":
            continue  # credited below under the names its mappings gave the incidents
        source = registry.get(name)
        path, imported = latest.get(name, (None, None))
        credits[name] = SourceCredit(
            name=name,
            citation=source.citation if source else None,
            licence=source.licence if source else None,
            public=bool(source and source.public),
            edition=_EDITIONS[name](db, path) if name in _EDITIONS else None,
            file=PurePath(path).name if path else None,
            imported=imported,
            selection=source.selection if source else None,
        )
    declared = {
        name: (citation, licence) for name, citation, licence in db.declared_sources()
    }
    # A table import's incidents carry the mapping's `source` as their first reference; the
    # latest import that brought one of them names the file.
    for name, path, finished in db.table_import_sources():
        citation, licence = declared.get(name, (None, None))
        # A mapping may reuse a built-in source's name; its data is still not that source's.
        key = f"{name} (table import)" if name in credits else name
        credits[key] = SourceCredit(
            name=key,
            citation=citation,
            licence=licence,
            public=False,  # a mapping says what the data is, not who may obtain it
            file=PurePath(path).name,
            imported=(finished or "")[:10] or None,
        )
    return [credits[name] for name in sorted(credits)]


def _attack_edition(db: Analytics, path: str | None) -> str | None:
    """"Enterprise v18.1": the matrices imported, and the release from the collection object
    (attack-stix-data bundles) or else the file name (mitre/cti bundles carry no release)."""
    domains: list[str] = []
    for raw in db.attack_matrix_domains():
        for domain in re.findall(r'"([a-z-]+)"', raw or ""):
            name = _ATTACK_DOMAINS.get(domain, domain)
            if name not in domains:
                domains.append(name)
    versions = sorted({version for version in db.attack_collection_versions() if version})
    if not versions and path and (found := _VERSION_IN_NAME.search(PurePath(path).name)):
        versions = [found.group(1)]
    parts = [" and ".join(domains)] if domains else []
    if versions:
        parts.append("v" + "/".join(versions))
    return " ".join(parts) or None


def _kev_edition(db: Analytics, path: str | None) -> str | None:
    # Every KEV object's `modified` is the catalogue's release time (sources/kev.py).
    released = db.latest_modified("kev", "vulnerability")
    return f"catalogue released {released[:10]}" if released else None


def _misp_edition(db: Analytics, path: str | None) -> str | None:
    # The galaxy's `version` is stored as seconds after the epoch (sources/misp_galaxy.py).
    modified = db.latest_modified("misp-galaxy", "intrusion-set")
    if not modified:
        return None
    stamp = datetime.fromisoformat(modified[:19]).replace(tzinfo=UTC)
    return f"cluster version {int((stamp - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())}"


_EDITIONS = {"attack": _attack_edition, "kev": _kev_edition, "misp-galaxy": _misp_edition}


def registry_credits(names: list[str]) -> list[SourceCredit]:
    """Credits from the source definitions alone, for a report rendered without its knowledge
    base at hand (a landscape result names only its incident sources)."""
    registry = all_sources()
    credits = []
    for name in sorted(set(names)):
        source = registry.get(name)
        credits.append(
            SourceCredit(
                name=name,
                citation=source.citation if source else None,
                licence=source.licence if source else None,
                public=bool(source and source.public),
                selection=source.selection if source else None,
            )
        )
    return credits
