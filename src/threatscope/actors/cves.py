"""Which actors are known to exploit which CVEs, and who says so.

A link is read from what the knowledge base asserts, never guessed:

- a relationship from an intrusion-set, threat-actor or campaign whose description names a CVE
  ("[APT41] exploited CVE-2019-19781 ... (Citation: FireEye APT41 March 2020)") or whose target
  is a `vulnerability` (any relationship type: STIX `targets`, `uses`, ...);
- the own description of an intrusion-set, threat-actor or campaign naming a CVE (ATT&CK's
  campaign C0039: "... since identified as CVE-2024-39717");
- an incident with a named initiator (`x_threatscope_initiators[].actor_ref`, or an
  `attributed-to` relationship) that lists CVEs (`x_threatscope_cves`) or names one in its
  description;
- a `report` whose `object_refs` include an actor (or a campaign) and a vulnerability, or an actor
  while its description names a CVE. Every actor the report refs gets every CVE it holds.

Not linked: a CVE a malware or tool description names (COATHANGER and BOLDMOVE: CVE-2022-42475)
is not given to the groups that use the software. It describes how the software was delivered
once, not what each of its users exploited; shared tooling would spread it to every user, and the
software is already evidence of its own. Citation titles ("APT Targets Financial Analysts with
CVE-2017-0199") are not read either: a cited report's title is not a statement of this object.

A campaign's links go to the actors it is attributed to. Links are kept under the object that
made the claim (`holder`: a member object, a campaign, or an actor id our own `extract --store`
reports ref) and resolved to actors when read, so a split or join needs no rebuild. They are
derived into the `actor_cves` table after every import (`refresh_cve_links`); a knowledge base
written before the table existed is read by deriving them in memory.

CISA KEV's `knownRansomwareCampaignUse` is a flag on the CVE, not a link (`ransomware_cves`):
it says some ransomware campaign used the CVE, not which actor, and state groups exploit the
same edge devices (see attribution.score.Params for why it carries no weight).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from threatscope.ids import CVE_ID, cve_ids_in
from threatscope.store.base import Writer
from threatscope.store.queries import Analytics

__all__ = [
    "CveLink",
    "actor_cves",
    "campaign_actors",
    "derive_links",
    "links_by_actor",
    "origin_name",
    "ransomware_cves",
    "refresh_cve_links",
    "stored_links",
]

_CITATION = re.compile(r"\(Citation: ([^)]+)\)")
_HOLDER_TYPES = ("intrusion-set", "threat-actor", "campaign")
_ORIGIN = {"attack": "ATT&CK", "misp-galaxy": "MISP galaxy", "eurepoc": "EuRepoC"}


@dataclass(frozen=True)
class CveLink:
    holder: str  # the intrusion-set, threat-actor, campaign or actor the claim is about
    cve: str
    kind: str  # relationship, description, incident, report
    via: str  # the object asserting it: relationship, actor/campaign, incident, report
    label: str  # how a person is told where it comes from
    origin: str  # the importer that brought the asserting object (attack, eurepoc, stix, ...)
    citations: tuple[str, ...] = field(default=())


def _cves(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    return cve_ids_in(text)


def origin_name(source: str) -> str:
    """How a person knows an importer: "ATT&CK", "MISP galaxy", "EuRepoC", else its name."""
    return _ORIGIN.get(source, source)


def _vulnerabilities(db: Analytics) -> dict[str, str]:
    found: dict[str, str] = {}
    for object_id, name in db.vulnerability_names():
        named = _cves(name)
        if named:
            found[object_id] = named[0]
    return found


def _name(db: Analytics, names: dict[str, str], object_id: str) -> str:
    """An object's name, or its ATT&CK id for techniques ("T1190 Exploit Public-Facing ...")."""
    if object_id not in names:
        row = db.name_and_attack_id(object_id)
        parts = dict.fromkeys(p for p in (row[1], row[0]) if p) if row else {}
        names[object_id] = " ".join(parts) or object_id
    return names[object_id]


def derive_links(db: Analytics) -> list[CveLink]:
    """Every actor -> CVE link the knowledge base `db` asserts (see the module doc)."""
    holders = db.current_object_ids(_HOLDER_TYPES)
    vulnerabilities = _vulnerabilities(db)
    links: dict[tuple[str, str, str], CveLink] = {}

    def add(link: CveLink) -> None:
        links.setdefault((link.holder, link.cve, link.via), link)

    names: dict[str, str] = {}
    for rel, source in db.cve_relationships():
        if rel["source_ref"] not in holders:
            continue
        named = _cves(rel.get("description"))
        target = vulnerabilities.get(rel["target_ref"])
        if target and target not in named:
            named.append(target)
        citations = tuple(
            sorted(
                {
                    str(ref["source_name"])
                    for ref in rel.get("external_references") or ()
                    if isinstance(ref, dict) and ref.get("source_name")
                }
            )
        )
        what = " ".join(
            (
                _name(db, names, rel["source_ref"]),
                rel["relationship_type"],
                _name(db, names, rel["target_ref"]),
            )
        )
        for cve in named:
            add(
                CveLink(
                    rel["source_ref"],
                    cve,
                    "relationship",
                    rel["id"],
                    f"{origin_name(source)} relationship {rel['id']} ({what})"
                    + (" description" if cve != target else ""),
                    source,
                    citations,
                )
            )

    for obj, source in db.holders_mentioning_cves():
        description = obj.get("description")
        citations = tuple(sorted(set(_CITATION.findall(description or ""))))
        label = f"{origin_name(source)} {obj['type']} {obj.get('name') or obj['id']} description"
        for cve in _cves(description):
            add(
                CveLink(
                    obj["id"],
                    cve,
                    "description",
                    obj["id"],
                    label,
                    source,
                    citations,
                )
            )

    _incident_links(db, add)
    _report_links(db, vulnerabilities, add)
    return sorted(links.values(), key=lambda link: (link.holder, link.cve, link.via))


def _attributions(db: Analytics, prefix: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for source, target in db.attributions(prefix):
        found[source].add(target)
    return found


def _incident_links(db: Analytics, add: Any) -> None:
    attributed = _attributions(db, "incident")
    for incident, source in db.incidents_mentioning_cves():
        actors = set(attributed.get(incident["id"], ()))
        for initiator in incident.get("x_threatscope_initiators") or ():
            if isinstance(initiator, dict) and isinstance(initiator.get("actor_ref"), str):
                actors.add(initiator["actor_ref"])
        if not actors:
            continue
        listed = [
            str(c).strip().upper()
            for c in incident.get("x_threatscope_cves") or ()
            if CVE_ID.fullmatch(str(c).strip())
        ]
        cves = list(dict.fromkeys([*listed, *_cves(incident.get("description"))]))
        feed = next(
            (
                str(ref["source_name"])
                for ref in incident.get("external_references") or ()
                if isinstance(ref, dict) and ref.get("source_name")
            ),
            source,
        )
        name = incident.get("name") or incident["id"]
        for cve in cves:
            where = "" if cve in listed else " (description)"
            for actor in sorted(actors):
                add(
                    CveLink(
                        actor,
                        cve,
                        "incident",
                        incident["id"],
                        f"{origin_name(feed)} incident {name}{where}",
                        source,
                    )
                )


def _report_links(db: Analytics, vulnerabilities: dict[str, str], add: Any) -> None:
    for report, source in db.current_reports():
        refs = [r for r in report.get("object_refs") or () if isinstance(r, str)]
        actors = sorted({r for r in refs if r.split("--", 1)[0] in _HOLDER_TYPES})
        if not actors:
            continue
        cves = [vulnerabilities[r] for r in refs if r in vulnerabilities]
        cves = list(dict.fromkeys([*cves, *_cves(report.get("description"))]))
        name = report.get("name") or report["id"]
        for cve in cves:
            for actor in actors:
                add(CveLink(actor, cve, "report", report["id"], f"report {name}", source))


# -- the derived table ----------------------------------------------------------------------

def refresh_cve_links(writer: Writer) -> int:
    """Rebuild the stored links inside the import transaction; returns how many it holds."""
    return int(writer.replace_actor_cves(link_rows(derive_links(writer))))


def link_rows(links: Iterable[CveLink]) -> list[tuple[str, ...]]:
    return [
        (
            link.holder,
            link.cve,
            link.kind,
            link.via,
            link.label,
            link.origin,
            orjson.dumps(list(link.citations)).decode(),
        )
        for link in links
    ]


def stored_links(db: Analytics) -> list[CveLink]:
    """The stored links, or derived now when the knowledge base predates them."""
    rows = db.stored_cve_links()
    if rows is None:
        return derive_links(db)
    return [
        CveLink(holder, cve, kind, via, label, origin, tuple(citations))
        for holder, cve, kind, via, label, origin, citations in rows
    ]


# -- reading: links per resolved actor ------------------------------------------------------


def campaign_actors(db: Analytics, member_actor: dict[str, str]) -> dict[str, set[str]]:
    """Campaign id -> the resolved actors it is attributed to."""
    return {
        campaign: {member_actor[t] for t in targets if t in member_actor}
        for campaign, targets in _attributions(db, "campaign").items()
    }


def links_by_actor(
    db: Analytics, member_actor: dict[str, str] | None = None
) -> dict[str, list[CveLink]]:
    """Resolved actor id -> its CVE links. A holder is a member object, an actor id, or a
    campaign (its links go to every actor it is attributed to)."""
    if member_actor is None:
        member_actor = db.actor_members()
    actor_ids = set(member_actor.values())
    campaigns = campaign_actors(db, member_actor)
    found: dict[str, list[CveLink]] = defaultdict(list)
    for link in stored_links(db):
        if link.holder in member_actor:
            owners = {member_actor[link.holder]}
        elif link.holder in actor_ids:
            owners = {link.holder}
        else:
            owners = campaigns.get(link.holder, set())
        for owner in owners:
            found[owner].append(link)
    return dict(found)


def ransomware_cves(db: Analytics) -> set[str]:
    """CVEs CISA KEV marks `knownRansomwareCampaignUse: Known`."""
    return db.ransomware_cve_names()


def actor_cves(db: Analytics, actor_id: str) -> list[dict[str, Any]]:
    """The `cves` of `actor show`: each CVE the actor is linked to, with every source saying so
    and what CISA KEV records of it."""
    by_cve: dict[str, list[CveLink]] = defaultdict(list)
    for link in links_by_actor(db).get(actor_id, ()):
        by_cve[link.cve].append(link)
    kev = db.vulnerabilities_named(sorted(by_cve))
    rows = []
    for cve in sorted(by_cve, key=_cve_order):
        entry = kev.get(cve, {})
        rows.append(
            {
                "cve": cve,
                "sources": [
                    {"kind": link.kind, "via": link.via, "holder": link.holder, "label": link.label}
                    for link in by_cve[cve]
                ],
                "in_kev": "x_kev_date_added" in entry,
                "kev_product": " ".join(
                    p for p in (entry.get("x_kev_vendor_project"), entry.get("x_kev_product")) if p
                )
                or None,
                "known_ransomware_use": entry.get("x_kev_known_ransomware_campaign_use") == "Known",
            }
        )
    return rows


def _cve_order(cve: str) -> tuple[int, int]:
    _, year, number = cve.split("-")
    return int(year), int(number)
