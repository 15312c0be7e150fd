"""`import misp-galaxy [PATH]`: the MISP threat-actor galaxy as STIX intrusion-sets.

Default PATH is the copy shipped inside `pymispgalaxies`, so a fresh install has actors offline.
Each cluster value becomes an intrusion-set with the value's own UUID: synonyms are aliases,
`country` and `cfr-suspected-state-sponsor` become nexus claims (ISO 3166 alpha-2), targeted
sectors, suspected victims and motives are kept normalised, and the whole `meta` block is kept
verbatim under `x_misp_galaxy`.

The galaxy has no per-actor timestamps, only a cluster `version` that grows with every release.
We use it as the STIX clock: `modified` is the Unix epoch plus `version` seconds. A newer galaxy
therefore replaces an older one, re-importing the same one changes nothing, and the odd-looking
date makes clear it is not a publication date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from threatscope.countries import to_iso2
from threatscope.errors import InputError
from threatscope.files import MiB, read_json
from threatscope.sources.base import Source, producer_identity, register

__all__ = ["MISP_IDENTITY", "galaxy_to_stix", "load_misp_galaxy", "packaged_galaxy_path"]

MISP_IDENTITY = "identity--5b2b4a51-8ff4-4c79-9f49-49b1b3e0f5a2"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Seconds after the epoch: 10**9 is 2001, far beyond any galaxy version yet (349 in 2026).
_MAX_VERSION = 10**9


def packaged_galaxy_path() -> Path:
    import pymispgalaxies

    return Path(pymispgalaxies.__file__).parent / "data/misp-galaxy/clusters/threat-actor.json"


# The threat-actor cluster is 1.4 MB.
MAX_BYTES = 64 * MiB


def load_misp_galaxy(path: Path) -> list[dict[str, Any]]:
    doc = read_json(path, "threat-actor.json", MAX_BYTES)
    return galaxy_to_stix(doc, str(path))


def galaxy_to_stix(doc: Any, file: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("values"), list):
        raise InputError(file, "not a MISP galaxy cluster: no 'values' list")
    if doc.get("type") not in (None, "threat-actor"):
        raise InputError(file, f"expected the threat-actor cluster, got type {doc.get('type')!r}")
    version = doc.get("version")
    if (
        isinstance(version, bool)
        or not isinstance(version, int)
        or not 0 <= version <= _MAX_VERSION
    ):
        raise InputError(
            file, f"cluster 'version' must be a whole number up to {_MAX_VERSION}, got {version!r}"
        )
    stamp = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=version)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    objects: list[dict[str, Any]] = [
        producer_identity(
            MISP_IDENTITY, "MISP galaxy: threat-actor cluster", "1970-01-01T00:00:00.000Z"
        )
    ]
    for index, value in enumerate(doc["values"]):
        where = f"value {index}"
        if not isinstance(value, dict):
            raise InputError(file, "expected a JSON object", where=where)
        name, uuid = value.get("value"), value.get("uuid")
        if isinstance(name, str):
            where += f" ({name})"
        if not isinstance(name, str) or not name.strip():
            raise InputError(file, "missing 'value' (the actor name)", where=where)
        if not isinstance(uuid, str) or not _UUID.fullmatch(uuid):
            raise InputError(file, f"invalid 'uuid': {uuid!r}", where=where)
        meta = value.get("meta") or {}
        if not isinstance(meta, dict):
            raise InputError(file, "'meta' must be a JSON object", where=where)
        objects.append(_intrusion_set(value, meta, stamp, version))
    return objects


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _intrusion_set(
    value: dict[str, Any], meta: dict[str, Any], stamp: str, version: int
) -> dict[str, Any]:
    name = value["value"].strip()
    claims = []
    for basis in ("country", "cfr-suspected-state-sponsor"):
        for raw in _strings(meta.get(basis)):
            iso = to_iso2(raw)
            if iso:
                claims.append({"nexus": iso, "basis": basis, "value": raw})
    victims = [v for v in _strings(meta.get("cfr-suspected-victims"))]
    obj: dict[str, Any] = {
        "type": "intrusion-set",
        "spec_version": "2.1",
        "id": f"intrusion-set--{value['uuid'].lower()}",
        "created": stamp,
        "modified": stamp,
        "created_by_ref": MISP_IDENTITY,
        "name": name,
        "aliases": [name, *(s for s in _strings(meta.get("synonyms")) if s.strip() != name)],
        "external_references": [
            {"source_name": "misp-galaxy", "external_id": value["uuid"].lower()},
            *({"source_name": "reference", "url": url} for url in _strings(meta.get("refs"))),
        ],
        "x_misp_galaxy": {"version": version, "meta": meta, "related": value.get("related", [])},
        "x_threatscope_nexus_claims": claims,
        "x_threatscope_target_sectors": _strings(meta.get("cfr-target-category"))
        + _strings(meta.get("targeted-sector")),
        "x_threatscope_target_countries": sorted({to_iso2(v) or v for v in victims}),
        "x_threatscope_motivations": [
            m.lower()
            for m in _strings(meta.get("motive")) + _strings(meta.get("cfr-type-of-incident"))
        ],
    }
    if isinstance(value.get("description"), str) and value["description"].strip():
        obj["description"] = value["description"]
    return obj


register(
    Source(
        "misp-galaxy",
        "MISP threat-actor galaxy (default: the copy inside pymispgalaxies)",
        load_misp_galaxy,
        default_path=packaged_galaxy_path,
        citation="MISP galaxy, threat-actor cluster, MISP Project, https://github.com/MISP/misp-galaxy",
        licence="CC0 1.0 or BSD 2-Clause, at the user's choice",
        public=True,
    )
)
