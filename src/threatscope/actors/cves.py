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
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

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

CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
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
    return list(dict.fromkeys(m.upper() for m in CVE.findall(text)))


def origin_name(source: str) -> str:
    """How a person knows an importer: "ATT&CK", "MISP galaxy", "EuRepoC", else its name."""
    return _ORIGIN.get(source, source)


def _current(conn: sqlite3.Connection, types: tuple[str, ...]) -> set[str]:
    marks = ",".join("?" * len(types))
    return {
        object_id
        for (object_id,) in conn.execute(
            f"SELECT id FROM objects WHERE type IN ({marks}) AND revoked = 0 AND deprecated = 0",
            types,
        )
    }


def _vulnerabilities(conn: sqlite3.Connection) -> dict[str, str]:
    found: dict[str, str] = {}
    for object_id, name in conn.execute(
        "SELECT id, name FROM objects WHERE type = 'vulnerability' AND revoked = 0"
    ):
        named = _cves(name)
        if named:
            found[object_id] = named[0]
    return found


def _name(conn: sqlite3.Connection, names: dict[str, str], object_id: str) -> str:
    """An object's name, or its ATT&CK id for techniques ("T1190 Exploit Public-Facing ...")."""
    if object_id not in names:
        row = conn.execute(
            "SELECT o.name, (SELECT e.external_id FROM external_ids e WHERE e.object_id = o.id"
            " AND e.source_name = 'mitre-attack') FROM objects o WHERE o.id = ?",
            (object_id,),
        ).fetchone()
        parts = dict.fromkeys(p for p in (row[1], row[0]) if p) if row else {}
        names[object_id] = " ".join(parts) or object_id
    return names[object_id]


def derive_links(conn: sqlite3.Connection) -> list[CveLink]:
    """Every actor -> CVE link the knowledge base behind `conn` asserts (see the module doc)."""
    holders = _current(conn, _HOLDER_TYPES)
    vulnerabilities = _vulnerabilities(conn)
    links: dict[tuple[str, str, str], CveLink] = {}

    def add(link: CveLink) -> None:
        links.setdefault((link.holder, link.cve, link.via), link)

    names: dict[str, str] = {}
    for doc, source in conn.execute(
        "SELECT o.json, o.source FROM relationships r JOIN objects o ON o.id = r.id"
        " WHERE o.revoked = 0 AND o.deprecated = 0"
        " AND (r.source_ref LIKE 'intrusion-set--%' OR r.source_ref LIKE 'threat-actor--%'"
        "  OR r.source_ref LIKE 'campaign--%')"
        " AND (r.target_ref LIKE 'vulnerability--%' OR o.json LIKE '%CVE-%')"
    ):
        rel = orjson.loads(doc)
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
                _name(conn, names, rel["source_ref"]),
                rel["relationship_type"],
                _name(conn, names, rel["target_ref"]),
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

    for doc, source in conn.execute(
        "SELECT json, source FROM objects WHERE type IN ('intrusion-set', 'threat-actor',"
        " 'campaign') AND revoked = 0 AND deprecated = 0 AND json LIKE '%CVE-%'"
    ):
        obj = orjson.loads(doc)
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

    _incident_links(conn, add)
    _report_links(conn, vulnerabilities, add)
    return sorted(links.values(), key=lambda link: (link.holder, link.cve, link.via))


def _attributions(conn: sqlite3.Connection, prefix: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for source, target in conn.execute(
        "SELECT r.source_ref, r.target_ref FROM relationships r JOIN objects o ON o.id = r.id"
        " WHERE r.relationship_type = 'attributed-to' AND o.revoked = 0 AND o.deprecated = 0"
        " AND r.source_ref LIKE ?",
        (f"{prefix}--%",),
    ):
        found[source].add(target)
    return found


def _incident_links(conn: sqlite3.Connection, add: Any) -> None:
    attributed = _attributions(conn, "incident")
    for doc, source in conn.execute(
        "SELECT json, source FROM objects WHERE type = 'incident' AND revoked = 0"
        " AND json LIKE '%CVE-%'"
    ):
        incident = orjson.loads(doc)
        actors = set(attributed.get(incident["id"], ()))
        for initiator in incident.get("x_threatscope_initiators") or ():
            if isinstance(initiator, dict) and isinstance(initiator.get("actor_ref"), str):
                actors.add(initiator["actor_ref"])
        if not actors:
            continue
        listed = [
            str(c).strip().upper()
            for c in incident.get("x_threatscope_cves") or ()
            if CVE.fullmatch(str(c).strip())
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


def _report_links(conn: sqlite3.Connection, vulnerabilities: dict[str, str], add: Any) -> None:
    for doc, source in conn.execute(
        "SELECT json, source FROM objects WHERE type = 'report' AND revoked = 0"
    ):
        report = orjson.loads(doc)
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

_TABLE = "actor_cves"  # created and filled by the store (SQLiteWriter.replace_actor_cves)


def refresh_cve_links(writer: Any) -> int:
    """Rebuild `actor_cves` inside the import transaction; returns how many links it holds."""
    return int(writer.replace_actor_cves(link_rows(derive_links(writer.analytics()))))


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


def stored_links(conn: sqlite3.Connection) -> list[CveLink]:
    """The links of `actor_cves`, or derived now when the knowledge base predates the table."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_TABLE,)
    ).fetchone()
    if not exists:
        return derive_links(conn)
    return [
        CveLink(holder, cve, kind, via, label, origin, tuple(orjson.loads(citations)))
        for holder, cve, kind, via, label, origin, citations in conn.execute(
            f"SELECT holder, cve, kind, via, label, origin, citations FROM {_TABLE}"
            " ORDER BY holder, cve, via"
        )
    ]


# -- reading: links per resolved actor ------------------------------------------------------


def campaign_actors(conn: sqlite3.Connection, member_actor: dict[str, str]) -> dict[str, set[str]]:
    """Campaign id -> the resolved actors it is attributed to."""
    return {
        campaign: {member_actor[t] for t in targets if t in member_actor}
        for campaign, targets in _attributions(conn, "campaign").items()
    }


def links_by_actor(
    conn: sqlite3.Connection, member_actor: dict[str, str] | None = None
) -> dict[str, list[CveLink]]:
    """Resolved actor id -> its CVE links. A holder is a member object, an actor id, or a
    campaign (its links go to every actor it is attributed to)."""
    if member_actor is None:
        member_actor = dict(conn.execute("SELECT object_id, actor_id FROM actor_members"))
    actor_ids = set(member_actor.values())
    campaigns = campaign_actors(conn, member_actor)
    found: dict[str, list[CveLink]] = defaultdict(list)
    for link in stored_links(conn):
        if link.holder in member_actor:
            owners = {member_actor[link.holder]}
        elif link.holder in actor_ids:
            owners = {link.holder}
        else:
            owners = campaigns.get(link.holder, set())
        for owner in owners:
            found[owner].append(link)
    return dict(found)


def ransomware_cves(conn: sqlite3.Connection) -> set[str]:
    """CVEs CISA KEV marks `knownRansomwareCampaignUse: Known`."""
    return {
        name.upper()
        for (name,) in conn.execute(
            "SELECT name FROM objects WHERE type = 'vulnerability' AND revoked = 0"
            " AND json_extract(json, '$.x_kev_known_ransomware_campaign_use') = 'Known'"
        )
        if name
    }


def _kev(conn: sqlite3.Connection, cves: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(cves), 500):
        chunk = cves[start : start + 500]
        for name, doc in conn.execute(
            "SELECT name, json FROM objects WHERE type = 'vulnerability' AND revoked = 0"
            f" AND name IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            found[name.upper()] = orjson.loads(doc)
    return found


def actor_cves(conn: sqlite3.Connection, actor_id: str) -> list[dict[str, Any]]:
    """The `cves` of `actor show`: each CVE the actor is linked to, with every source saying so
    and what CISA KEV records of it."""
    by_cve: dict[str, list[CveLink]] = defaultdict(list)
    for link in links_by_actor(conn).get(actor_id, ()):
        by_cve[link.cve].append(link)
    kev = _kev(conn, sorted(by_cve))
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
