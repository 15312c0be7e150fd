"""What resolution needs to know about one intrusion-set or threat-actor object."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from threatscope.actors.described_nexus import described_nexus
from threatscope.ids import GROUP_ID
from threatscope.names import normalise_name, object_aliases
from threatscope.store.base import StoredObject

__all__ = ["Candidate", "NexusClaim", "candidate_from", "core_name", "own_identifiers"]

# A last word that only says "a group": Winnti Group is the group called Winnti.
_GENERIC_LAST_WORD = re.compile(r"^(?P<core>.*\w)[\s_-]+(?:group|team)$", re.IGNORECASE)
# Who asserted what: the importer, and within a STIX import the producing identity.
SOURCE_PRIORITY = {"attack": 0, "stix": 1, "misp-galaxy": 2}


@dataclass(frozen=True)
class NexusClaim:
    nexus: str
    basis: str


@dataclass
class Candidate:
    id: str
    name: str
    source: str
    party: str
    created: str
    aliases: list[str]
    attack_ids: set[str]
    nexus_claims: list[NexusClaim] = field(default_factory=list)
    motivations: list[str] = field(default_factory=list)

    @property
    def name_norm(self) -> str:
        return normalise_name(self.name)

    @property
    def alias_norms(self) -> set[str]:
        return {normalise_name(a) for a in self.aliases}

    @property
    def core_norm(self) -> str | None:
        core = core_name(self.name)
        return normalise_name(core) if core else None

    @property
    def priority(self) -> tuple[int, str, str]:
        return (SOURCE_PRIORITY.get(self.source, 9), self.created, self.id)


def candidate_from(stored: StoredObject) -> Candidate:
    obj = stored.data
    aliases = object_aliases(obj)
    attack_ids = {
        ref["external_id"]
        for ref in obj.get("external_references") or ()
        if isinstance(ref, dict)
        and str(ref.get("source_name", "")).startswith("mitre")
        and isinstance(ref.get("external_id"), str)
    }
    # Vendors cite ATT&CK group ids among their synonyms (MISP lists `G0096` for APT41).
    attack_ids |= {alias for alias in aliases if GROUP_ID.fullmatch(alias)}
    return Candidate(
        id=obj["id"],
        name=str(obj.get("name") or obj["id"]),
        source=stored.source,
        party=f"{stored.source}|{obj.get('created_by_ref', '')}",
        created=str(obj.get("created", "")),
        aliases=aliases,
        attack_ids=attack_ids,
        nexus_claims=_nexus_claims(obj),
        motivations=_motivations(obj),
    )


def own_identifiers(obj: dict[str, Any]) -> set[str]:
    """Identifiers the object carries in its own external references (ATT&CK's G0044 on Winnti
    Group, a MISP cluster's uuid): it owns them, unlike ids a source lists among its synonyms."""
    return {
        ref["external_id"]
        for ref in obj.get("external_references") or ()
        if isinstance(ref, dict) and isinstance(ref.get("external_id"), str)
    }


def core_name(name: str) -> str | None:
    """`Winnti Group` -> `Winnti`, `Sandworm Team` -> `Sandworm`; None for other names."""
    found = _GENERIC_LAST_WORD.match(name.strip())
    return found.group("core") if found else None


def _nexus_claims(obj: dict[str, Any]) -> list[NexusClaim]:
    claims = []
    for claim in obj.get("x_threatscope_nexus_claims") or ():
        if isinstance(claim, dict) and isinstance(claim.get("nexus"), str):
            claims.append(NexusClaim(claim["nexus"], str(claim.get("basis", "unspecified"))))
    if isinstance(obj.get("x_threatscope_nexus"), str) and not claims:
        claims.append(NexusClaim(obj["x_threatscope_nexus"], "x_threatscope_nexus"))
    if not claims:
        described = described_nexus(obj.get("description"))
        if described:
            claims.append(NexusClaim(described, "description"))
    return claims


def _motivations(obj: dict[str, Any]) -> list[str]:
    found: list[str] = []
    values: list[Any] = [obj.get("primary_motivation")]
    for key in ("secondary_motivations", "x_threatscope_motivations"):
        if isinstance(obj.get(key), list):
            values.extend(obj[key])
    for value in values:
        if isinstance(value, str) and value.strip():
            found.append(value.strip().lower())
    return found
