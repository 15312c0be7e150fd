"""Which actor or software each known observable value (IP, domain, URL, hash...) points at.

Three ways a knowledge base ties infrastructure to an actor, all read here:

- an indicator `indicates` an actor, a campaign, a malware/tool or an infrastructure object:
  every quoted value of its pattern points where it does;
- an actor or campaign `uses` an infrastructure object, which `consists-of` observables and may
  be indicated by indicators: their values point at the actor;
- a sighting of an actor, campaign, malware/tool or indicator carries observed data: the values
  of its observables (STIX 2.1 `object_refs`, STIX 2.0 inline `objects`) point at what was seen.

A campaign points at the actors it is attributed to; an infrastructure object at the actors and
campaigns that use it. Each link keeps a label saying how it was made (for `why`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from threatscope.store.queries import Analytics

__all__ = ["observable_values", "pattern_values", "value_links"]

_QUOTED = re.compile(r"=\s*'((?:[^'\\]|\\.)*)'")
_VALUED = ("ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "mac-addr")


def pattern_values(pattern: str) -> list[str]:
    """The quoted comparison values of a STIX pattern, unescaped and lower-cased."""
    return [
        value.replace("\\'", "'").replace("\\\\", "\\").lower()
        for value in _QUOTED.findall(pattern)
    ]


def observable_values(obj: dict[str, Any]) -> list[str]:
    """Values an observable can be matched by: its `value`, or its hashes (files, certificates)."""
    found = []
    if obj.get("type") in _VALUED and isinstance(obj.get("value"), str):
        found.append(obj["value"].lower())
    hashes = obj.get("hashes")
    if isinstance(hashes, dict):
        found.extend(str(h).lower() for h in hashes.values() if isinstance(h, str))
    return found


def value_links(
    db: Analytics,
    member_actor: dict[str, str],
    campaign_actors: dict[str, set[str]],
    software: set[str],
) -> dict[str, dict[str, str]]:
    """value -> {actor id or software id: how the link was made}."""
    indicates: list[tuple[str, str]] = []
    infra_users: dict[str, set[str]] = defaultdict(set)
    consists: dict[str, set[str]] = defaultdict(set)
    for source, rel_type, target in db.value_relationships():
        if rel_type == "indicates":
            indicates.append((source, target))
        elif rel_type == "uses":
            infra_users[target] |= _owners(source, member_actor, campaign_actors, software, {})
        else:
            consists[source].add(target)

    def owners(ref: str) -> set[str]:
        return _owners(ref, member_actor, campaign_actors, software, infra_users)

    links: dict[str, dict[str, str]] = defaultdict(dict)

    def link(values: list[str], targets: set[str], label: str) -> None:
        for value in values:
            for target in targets:
                links[value].setdefault(target, label)

    indicator_targets: dict[str, set[str]] = defaultdict(set)
    for indicator, target in indicates:
        indicator_targets[indicator] |= owners(target)
    patterns = db.current_objects_by_id(list(indicator_targets))
    for indicator, targets in indicator_targets.items():
        doc = patterns.get(indicator)
        if doc is not None and targets:
            link(pattern_values(str(doc.get("pattern") or "")), targets, "indicator")

    members = db.current_objects_by_id(sorted({m for ms in consists.values() for m in ms}))
    for infra, parts in consists.items():
        values = [v for part in parts if part in members for v in observable_values(members[part])]
        link(values, owners(infra), "infrastructure")

    for sighting in db.current_sightings():
        seen = str(sighting.get("sighting_of_ref") or "")
        targets = owners(seen)
        if seen in indicator_targets:
            targets = targets | indicator_targets[seen]
        if targets:
            link(_observed_values(db, sighting), targets, "sighting")
    return {value: dict(targets) for value, targets in links.items()}


def _owners(
    ref: str,
    member_actor: dict[str, str],
    campaign_actors: dict[str, set[str]],
    software: set[str],
    infra_users: dict[str, set[str]],
) -> set[str]:
    if ref in member_actor:
        return {member_actor[ref]}
    if ref in campaign_actors:
        return set(campaign_actors[ref])
    if ref in software:
        return {ref}
    return set(infra_users.get(ref, ()))


def _observed_values(db: Analytics, sighting: dict[str, Any]) -> list[str]:
    observed = db.current_objects_by_id([str(r) for r in sighting.get("observed_data_refs") or ()])
    values: list[str] = []
    refs: list[str] = []
    for data in observed.values():
        inline = data.get("objects")
        if isinstance(inline, dict):  # STIX 2.0: observables inside the observed-data
            for obj in inline.values():
                if isinstance(obj, dict):
                    values.extend(observable_values(obj))
        refs.extend(str(r) for r in data.get("object_refs") or ())
    for obj in db.current_objects_by_id(refs).values():
        values.extend(observable_values(obj))
    return values
