"""Actor profiles for attribution: what each resolved actor is known to use, target and when.

Everything is read from the knowledge base and keyed by *resolved* actor (actors/actor_members),
so an ATT&CK group and its MISP twin are one candidate: ATT&CK brings techniques and software,
MISP brings victimology, incidents bring victims and dates, and CVEs come from every source that
links an actor to one (actors/cves.py). Campaigns count for the actors they are attributed to.
Built once per knowledge-base state and cached in memory.

Every `uses` item keeps the relationship it came from (`Use`), so the evaluation can take out
exactly what one campaign or one held-out half contributed.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from threatscope.actors.cves import CveLink, links_by_actor, origin_name, ransomware_cves
from threatscope.attribution.infrastructure import value_links
from threatscope.countries import to_iso2
from threatscope.days import date_of
from threatscope.store.queries import Analytics
from threatscope.taxonomy import sectors

__all__ = ["KINDS", "ActorProfile", "Profiles", "Use", "build_profiles", "clear_cache"]

KINDS = ("technique", "software", "cve", "ioc", "sector", "country")
_ACTOR_TYPES = ("intrusion-set", "threat-actor")


@dataclass(frozen=True)
class Use:
    """One `uses` relationship behind a profile item (for leave-out evaluation and `why`)."""

    kind: str
    item: str
    rel_id: str
    via: str  # the object that asserted it: a group, a campaign, ...
    citations: frozenset[str]
    description: str


@dataclass
class ActorProfile:
    id: str
    name: str
    nexus: str | None
    # kind -> item -> provenance labels ("ATT&CK", "MISP galaxy", "incidents", "campaign C0017")
    items: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: {kind: defaultdict(set) for kind in KINDS}
    )
    uses: list[Use] = field(default_factory=list)
    years: list[float] = field(default_factory=list)  # dates of known activity


@dataclass
class Profiles:
    """The knowledge attribution scores against, plus the lookups it needs to read evidence."""

    actors: list[ActorProfile]
    technique_ids: dict[str, str]  # attack-pattern STIX id -> T-number
    technique_names: dict[str, str]  # T-number -> name
    software_names: dict[str, str]  # malware/tool STIX id -> name
    software_techniques: dict[str, set[str]]  # software STIX id -> T-numbers it uses
    software_by_name: dict[str, set[str]]  # normalised alias -> software STIX ids
    ioc_index: dict[str, set[str]]  # observable value (lower-cased) -> actor ids / software ids
    campaigns: dict[str, dict[str, Any]]  # campaign STIX id -> {name, attack_id, actors, ...}
    group_attack_ids: dict[str, str]  # intrusion-set STIX id -> G-number
    member_actor: dict[str, str]  # member object id -> actor id
    # CVEs CISA KEV marks as used by ransomware campaigns: shown beside the evidence, not scored.
    ransomware_cves: set[str] = field(default_factory=set)
    build_seconds: float = 0.0

    def actor_index(self) -> dict[str, int]:
        return {a.id: i for i, a in enumerate(self.actors)}


_CACHE: dict[tuple[Any, ...], Profiles] = {}


def clear_cache() -> None:
    _CACHE.clear()


def _fingerprint(db: Analytics) -> str:
    """Changes whenever an import or a split/join changes what profiles are built from."""
    digest = hashlib.sha256()
    digest.update(repr(tuple(db.import_summary())).encode())
    for object_id, actor_id in db.actor_member_pairs():
        digest.update(f"{object_id}>{actor_id};".encode())
    return digest.hexdigest()


def build_profiles(store: Any) -> Profiles:
    """Profiles for every resolved actor in `store`, cached per knowledge-base state."""
    key = (
        store.location if store.location != ":memory:" else id(store),
        _fingerprint(store),
    )
    if key not in _CACHE:
        _CACHE.clear()  # one knowledge base at a time: profiles are a few MB
        _CACHE[key] = _build(store)
    return _CACHE[key]


def _year(value: Any) -> float | None:
    if not isinstance(value, str) or len(value) < 4 or not value[:4].isdigit():
        return None
    year = int(value[:4])
    month = int(value[5:7]) if len(value) >= 7 and value[5:7].isdigit() else 6
    return year + (month - 0.5) / 12


def _citations(rel: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        str(ref.get("source_name"))
        for ref in rel.get("external_references") or ()
        if isinstance(ref, dict) and ref.get("source_name")
    )


@dataclass
class _Known:
    """What the knowledge base names, read once: the lookups every step of `_build` reads."""

    member_actor: dict[str, str]
    technique_ids: dict[str, str]
    technique_names: dict[str, str]
    software_names: dict[str, str]
    software_by_name: dict[str, set[str]]
    group_attack_ids: dict[str, str]
    campaigns: dict[str, dict[str, Any]]


def _build(db: Analytics) -> Profiles:
    started = time.perf_counter()
    actors = [ActorProfile(actor_id, name, nexus) for actor_id, name, nexus in db.actor_rows()]
    by_id = {profile.id: profile for profile in actors}
    known = _known(db)
    actor_uses, software_techniques = _relationships(db, known)
    _add_uses(actor_uses, known, by_id)
    for camp in known.campaigns.values():
        for owner in camp["actors"]:
            by_id[owner].years.extend(camp["years"])
    _actor_objects(db, known.member_actor, by_id)
    _incidents(db, known.member_actor, by_id)
    relationships = {rel["id"]: rel for rel in actor_uses}
    for actor, links in links_by_actor(db, known.member_actor).items():
        for link in links:
            _add_cve(by_id[actor], link, relationships, known.group_attack_ids, known.campaigns)
    ioc_index = _add_iocs(db, known, by_id)
    return Profiles(
        actors=actors,
        technique_ids=known.technique_ids,
        technique_names=known.technique_names,
        software_names=known.software_names,
        software_techniques=dict(software_techniques),
        software_by_name=dict(known.software_by_name),
        ioc_index=ioc_index,
        campaigns=known.campaigns,
        group_attack_ids=known.group_attack_ids,
        member_actor=known.member_actor,
        ransomware_cves=ransomware_cves(db),
        build_seconds=time.perf_counter() - started,
    )


def _known(db: Analytics) -> _Known:
    technique_ids: dict[str, str] = {}
    technique_names: dict[str, str] = {}
    for stix_id, attack_id, name in db.attack_techniques():
        technique_ids[stix_id] = attack_id
        technique_names[attack_id] = name or attack_id
    software_by_name: dict[str, set[str]] = defaultdict(set)
    for norm, object_id in db.software_aliases():
        software_by_name[norm].add(object_id)
    return _Known(
        member_actor=db.actor_members(),
        technique_ids=technique_ids,
        technique_names=technique_names,
        software_names={sid: name or sid for sid, name in db.software_names().items()},
        software_by_name=software_by_name,
        group_attack_ids=db.group_attack_ids(),
        campaigns=_campaigns(db),
    )


def _campaigns(db: Analytics) -> dict[str, dict[str, Any]]:
    """Campaign STIX id -> its name, ATT&CK id, dates, and (filled in later) its actors."""
    campaigns: dict[str, dict[str, Any]] = {}
    for obj in db.current_campaigns():
        attack_id = next(
            (
                ref["external_id"]
                for ref in obj.get("external_references") or ()
                if isinstance(ref, dict) and ref.get("source_name") == "mitre-attack"
            ),
            None,
        )
        campaigns[obj["id"]] = {
            "name": obj.get("name") or obj["id"],
            "attack_id": attack_id,
            "actors": set(),
            "years": [y for y in (_year(obj.get("first_seen")), _year(obj.get("last_seen"))) if y],
        }
    return campaigns


def _relationships(
    db: Analytics, known: _Known
) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
    """Relationships, current and not deprecated (JSON only for those whose text we need):
    campaigns get their actors; returns the actors' and campaigns' `uses` documents and the
    techniques each software uses."""
    software_techniques: dict[str, set[str]] = defaultdict(set)
    actor_uses: list[dict[str, Any]] = []
    campaigns, member_actor = known.campaigns, known.member_actor
    for source, rel_type, target, doc in db.actor_relationships():
        if rel_type == "attributed-to":
            if source in campaigns and target in member_actor:
                campaigns[source]["actors"].add(member_actor[target])
        elif doc is not None:
            actor_uses.append(doc)
        elif (
            rel_type == "uses" and target in known.technique_ids and source in known.software_names
        ):
            software_techniques[source].add(known.technique_ids[target])
    return actor_uses, software_techniques


def _add_uses(
    actor_uses: list[dict[str, Any]], known: _Known, by_id: dict[str, ActorProfile]
) -> None:
    """Each technique or software an actor, or a campaign of it, uses into its profile."""
    for rel in actor_uses:
        source, target = rel["source_ref"], rel["target_ref"]
        if source in known.campaigns:
            camp = known.campaigns[source]
            owners = camp["actors"]
            via = f"campaign {camp['attack_id'] or camp['name']}"
        elif source in known.member_actor:
            owners = {known.member_actor[source]}
            via = known.group_attack_ids.get(source, "KB")
        else:
            continue
        if target in known.technique_ids:
            kind, item = "technique", known.technique_ids[target]
        elif target in known.software_names:
            kind, item = "software", target
        else:
            continue
        use = Use(kind, item, rel["id"], source, _citations(rel), str(rel.get("description") or ""))
        label = f"ATT&CK {via}" if via.startswith(("G", "campaign")) else via
        for owner in owners:
            by_id[owner].uses.append(use)
            by_id[owner].items[kind][item].add(label)


def _add_iocs(db: Analytics, known: _Known, by_id: dict[str, ActorProfile]) -> dict[str, set[str]]:
    """Observables tied to actors (or their campaigns or software) into the profiles; returns
    the index evidence is looked up in: value -> actor and software ids."""
    links = value_links(
        db,
        known.member_actor,
        {cid: camp["actors"] for cid, camp in known.campaigns.items()},
        set(known.software_names),
    )
    ioc_index = {value: set(targets) for value, targets in links.items()}
    for value, targets in links.items():
        for target, label in targets.items():
            if target in by_id:
                by_id[target].items["ioc"][value].add(label)
    return ioc_index


def _add_cve(
    profile: ActorProfile,
    link: CveLink,
    relationships: dict[str, dict[str, Any]],
    group_attack_ids: dict[str, str],
    campaigns: dict[str, dict[str, Any]],
) -> None:
    """One actor -> CVE link into the profile. What a relationship or an actor's or campaign's
    own description asserts is a `Use` (with its citations), so leave-out evaluation takes it
    out with the rest of its source; incidents and reports are not `uses` and always stay."""
    if link.kind in ("incident", "report"):
        profile.items["cve"][link.cve].add(f"{link.kind}s")
        return
    if link.holder in campaigns:
        camp = campaigns[link.holder]
        via = f"campaign {camp['attack_id'] or camp['name']}"
    else:
        via = group_attack_ids.get(link.holder, "KB")
    origin = origin_name(link.origin)
    label = f"{origin} {via}" if via != "KB" else origin
    if link.kind == "description":
        label += " description"
    rel = relationships.get(link.via, {})
    profile.uses.append(
        Use(
            "cve",
            link.cve,
            link.via,
            link.holder,
            frozenset(link.citations),
            str(rel.get("description") or ""),
        )
    )
    profile.items["cve"][link.cve].add(label)


def _actor_objects(
    db: Analytics, member_actor: dict[str, str], by_id: dict[str, ActorProfile]
) -> None:
    """Victimology and activity dates the actor objects state themselves (MISP, STIX imports)."""
    for obj, source in db.actor_object_docs():
        actor = member_actor.get(obj["id"])
        if actor is None:
            continue
        profile = by_id[actor]
        label = "MISP galaxy" if source == "misp-galaxy" else source
        for value in obj.get("x_threatscope_target_sectors") or ():
            if isinstance(value, str):
                for sector in sectors().victim_sectors(value):
                    profile.items["sector"][sector].add(label)
        for value in obj.get("x_threatscope_target_countries") or ():
            iso = to_iso2(value) if isinstance(value, str) else None
            if iso:
                profile.items["country"][iso].add(label)
        for key in ("first_seen", "last_seen"):
            year = _year(obj.get(key))
            if year:
                profile.years.append(year)
        if source == "attack":
            # ATT&CK describes a group once it has been reported active: its entry date bounds
            # the activity period from above, which is all we know without campaign dates.
            year = _year(obj.get("created"))
            if year:
                profile.years.append(year - 1)


def _incidents(db: Analytics, member_actor: dict[str, str], by_id: dict[str, ActorProfile]) -> None:
    """Incident facts with a named initiator teach victim sectors, countries and dates (their
    CVEs come with every other actor -> CVE link, from actors/cves.py)."""
    facts: dict[int, set[str]] = defaultdict(set)
    days: dict[int, int | None] = {}
    for fact, day, actor_ref in db.named_initiators():
        actor = member_actor.get(actor_ref)
        if actor is not None:
            facts[fact].add(actor)
            days[fact] = day
    if not facts:
        return
    for fact, country, sector in db.incident_victims(facts):
        for actor in facts[fact]:
            if country:
                by_id[actor].items["country"][country].add("incidents")
            if sector:
                by_id[actor].items["sector"][sector].add("incidents")
    for fact, day in days.items():
        if day is not None:
            year = date_of(day)
            for actor in facts[fact]:
                by_id[actor].years.append(year.year + (year.month - 0.5) / 12)
