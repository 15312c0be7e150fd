"""SQLite answers to `ActorQueries` (store/queries.py): actors, ATT&CK knowledge and CVE links
as attribution, actor CVEs, extraction and report imports read them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

__all__ = ["SQLiteActorQueries"]

_CHUNK = 500  # ids per `IN (…)`: well below SQLite's bound-parameter limit


class SQLiteActorQueries:
    _conn: sqlite3.Connection

    # -- actors ----------------------------------------------------------------------------

    def actor_rows(self) -> list[tuple[str, str, str | None]]:
        return self._conn.execute("SELECT id, name, nexus FROM actors ORDER BY id").fetchall()

    def actor_members(self) -> dict[str, str]:
        return dict(
            self._conn.execute("SELECT object_id, actor_id FROM actor_members ORDER BY object_id")
        )

    def actor_member_pairs(self) -> list[tuple[str, str]]:
        return self._conn.execute(
            "SELECT object_id, actor_id FROM actor_members ORDER BY object_id"
        ).fetchall()

    def import_summary(self) -> tuple[int | None, int]:
        return self._conn.execute("SELECT max(id), count(*) FROM imports").fetchone()

    def holds_source(self, source: str) -> bool:
        query = "SELECT EXISTS (SELECT 1 FROM objects WHERE source = ?)"
        return bool(self._conn.execute(query, (source,)).fetchone()[0])

    def actor_name_variants(self, actor_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(actor_ids))
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        query = (
            f"SELECT name FROM actors WHERE id IN ({marks})"
            " UNION SELECT o.name FROM objects o JOIN actor_members m ON m.object_id = o.id"
            f" WHERE m.actor_id IN ({marks}) AND o.name IS NOT NULL"
            " UNION SELECT a.alias FROM aliases a JOIN actor_members m"
            f" ON m.object_id = a.object_id WHERE m.actor_id IN ({marks})"
            " UNION SELECT e.external_id FROM external_ids e JOIN actor_members m"
            f" ON m.object_id = e.object_id WHERE m.actor_id IN ({marks})"
            " AND e.source_name LIKE 'mitre-%'"
        )
        return {str(row[0]) for row in self._conn.execute(query, wanted * 4) if row[0]}

    def actor_nexus(self, actor_ids: Sequence[str]) -> dict[str, str]:
        if not actor_ids:
            return {}
        rows = self._conn.execute(
            f"SELECT id, nexus FROM actors WHERE id IN ({','.join('?' * len(actor_ids))})"
            " ORDER BY id",
            list(actor_ids),
        )
        return {actor_id: nexus for actor_id, nexus in rows if nexus}

    def actor_attack_group_ids(self, actor_ids: Sequence[str]) -> dict[str, str]:
        if not actor_ids:
            return {}
        rows = self._conn.execute(
            "SELECT m.actor_id, min(e.external_id) FROM actor_members m JOIN external_ids e"
            " ON e.object_id = m.object_id WHERE e.source_name = 'mitre-attack'"
            f" AND e.external_id LIKE 'G%' AND m.actor_id IN ({','.join('?' * len(actor_ids))})"
            " GROUP BY m.actor_id",
            list(actor_ids),
        )
        return dict(rows.fetchall())

    # -- objects -----------------------------------------------------------------------------

    def current_object_ids(self, types: Sequence[str]) -> set[str]:
        marks = ",".join("?" * len(types))
        return {
            object_id
            for (object_id,) in self._conn.execute(
                f"SELECT id FROM objects WHERE type IN ({marks}) AND revoked = 0"
                " AND deprecated = 0",
                list(types),
            )
        }

    def current_objects_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        wanted = sorted(set(ids))  # chunks in id order: the whole answer is in id order
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for object_id, doc in self._conn.execute(
                f"SELECT id, json FROM objects WHERE id IN ({','.join('?' * len(chunk))})"
                " AND revoked = 0 ORDER BY id",
                chunk,
            ):
                found[object_id] = orjson.loads(doc)
        return found

    def vulnerability_names(self) -> list[tuple[str, str | None]]:
        return self._conn.execute(
            "SELECT id, name FROM objects WHERE type = 'vulnerability' AND revoked = 0"
            " ORDER BY id"
        ).fetchall()

    def vulnerability_by_name(self, name: str) -> dict[str, Any] | None:
        found = self._conn.execute(
            "SELECT o.json FROM objects o WHERE o.type = 'vulnerability' AND o.name = ?"
            " ORDER BY o.id LIMIT 1",
            (name,),
        ).fetchone()
        return orjson.loads(found[0]) if found else None

    def vulnerabilities_named(self, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), _CHUNK):
            chunk = list(names[start : start + _CHUNK])
            for name, doc in self._conn.execute(
                "SELECT name, json FROM objects WHERE type = 'vulnerability' AND revoked = 0"
                f" AND name IN ({','.join('?' * len(chunk))}) ORDER BY id",
                chunk,
            ):
                found[name.upper()] = orjson.loads(doc)
        return found

    def ransomware_cve_names(self) -> set[str]:
        return {
            name.upper()
            for (name,) in self._conn.execute(
                "SELECT name FROM objects WHERE type = 'vulnerability' AND revoked = 0"
                " AND json_extract(json, '$.x_kev_known_ransomware_campaign_use') = 'Known'"
            )
            if name
        }

    def name_and_attack_id(self, object_id: str) -> tuple[str | None, str | None] | None:
        return self._conn.execute(
            "SELECT o.name, (SELECT min(e.external_id) FROM external_ids e WHERE e.object_id = o.id"
            " AND e.source_name = 'mitre-attack') FROM objects o WHERE o.id = ?",
            (object_id,),
        ).fetchone()

    def _docs(self, query: str, params: Sequence[Any] = ()) -> Iterator[tuple[dict[str, Any], str]]:
        for doc, source in self._conn.execute(query, params):
            yield orjson.loads(doc), source

    def cve_relationships(self) -> Iterator[tuple[dict[str, Any], str]]:
        return self._docs(
            "SELECT o.json, o.source FROM relationships r JOIN objects o ON o.id = r.id"
            " WHERE o.revoked = 0 AND o.deprecated = 0"
            " AND (r.source_ref LIKE 'intrusion-set--%' OR r.source_ref LIKE 'threat-actor--%'"
            "  OR r.source_ref LIKE 'campaign--%')"
            " AND (r.target_ref LIKE 'vulnerability--%' OR o.json LIKE '%CVE-%')"
            " ORDER BY r.id"
        )

    def holders_mentioning_cves(self) -> Iterator[tuple[dict[str, Any], str]]:
        return self._docs(
            "SELECT json, source FROM objects WHERE type IN ('intrusion-set', 'threat-actor',"
            " 'campaign') AND revoked = 0 AND deprecated = 0 AND json LIKE '%CVE-%'"
            " ORDER BY id"
        )

    def incidents_mentioning_cves(self) -> Iterator[tuple[dict[str, Any], str]]:
        return self._docs(
            "SELECT json, source FROM objects WHERE type = 'incident' AND revoked = 0"
            " AND json LIKE '%CVE-%' ORDER BY id"
        )

    def current_reports(self) -> Iterator[tuple[dict[str, Any], str]]:
        return self._docs(
            "SELECT json, source FROM objects WHERE type = 'report' AND revoked = 0 ORDER BY id"
        )

    def actor_object_docs(self) -> Iterator[tuple[dict[str, Any], str]]:
        return self._docs(
            "SELECT json, source FROM objects WHERE type IN ('intrusion-set', 'threat-actor')"
            " AND revoked = 0 ORDER BY id"
        )

    def attributions(self, prefix: str) -> list[tuple[str, str]]:
        return self._conn.execute(
            "SELECT r.source_ref, r.target_ref FROM relationships r JOIN objects o ON o.id = r.id"
            " WHERE r.relationship_type = 'attributed-to' AND o.revoked = 0 AND o.deprecated = 0"
            " AND r.source_ref LIKE ? ORDER BY r.source_ref, r.target_ref",
            (f"{prefix}--%",),
        ).fetchall()

    def stored_cve_links(self) -> list[tuple[str, str, str, str, str, str, list[str]]] | None:
        exists = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'actor_cves'"
        ).fetchone()
        if not exists:
            return None
        return [
            (holder, cve, kind, via, label, origin, orjson.loads(citations))
            for holder, cve, kind, via, label, origin, citations in self._conn.execute(
                "SELECT holder, cve, kind, via, label, origin, citations FROM actor_cves"
                " ORDER BY holder, cve, via"
            )
        ]

    # -- ATT&CK ------------------------------------------------------------------------------

    def attack_techniques(self) -> list[tuple[str, str, str | None]]:
        return self._conn.execute(
            "SELECT o.id, e.external_id, o.name FROM objects o JOIN external_ids e"
            " ON e.object_id = o.id WHERE o.type = 'attack-pattern' AND o.revoked = 0"
            " AND o.deprecated = 0 AND e.source_name = 'mitre-attack'"
            " ORDER BY o.id, e.external_id"
        ).fetchall()

    def attack_technique_names(self) -> dict[str, str | None]:
        return dict(
            self._conn.execute(
                "SELECT e.external_id, o.name FROM objects o JOIN external_ids e"
                " ON e.object_id = o.id WHERE o.type = 'attack-pattern' AND o.revoked = 0"
                " AND e.source_name = 'mitre-attack' ORDER BY e.external_id, o.id"
            ).fetchall()
        )

    def attack_pattern_ids(self, attack_ids: Sequence[str]) -> dict[str, str]:
        if not attack_ids:
            return {}
        return dict(
            self._conn.execute(
                "SELECT e.external_id, o.id FROM external_ids e JOIN objects o"
                " ON o.id = e.object_id WHERE o.type = 'attack-pattern' AND o.revoked = 0"
                f" AND e.external_id IN ({','.join('?' * len(attack_ids))})"
                " ORDER BY e.external_id, o.id",
                list(attack_ids),
            ).fetchall()
        )

    def technique_descriptions(self) -> list[str | None]:
        return [
            doc
            for (doc,) in self._conn.execute(
                "SELECT json_extract(json, '$.description') FROM objects"
                " WHERE type = 'attack-pattern' ORDER BY id"
            )
        ]

    def software_names(self) -> dict[str, str | None]:
        return dict(
            self._conn.execute(
                "SELECT id, name FROM objects WHERE type IN ('malware', 'tool') AND revoked = 0"
                " AND deprecated = 0 ORDER BY id"
            )
        )

    def software_aliases(self) -> list[tuple[str, str]]:
        return self._conn.execute(
            "SELECT a.alias_norm, a.object_id FROM aliases a JOIN objects o ON o.id = a.object_id"
            " WHERE o.type IN ('malware', 'tool') AND o.revoked = 0 AND o.deprecated = 0"
            " ORDER BY a.object_id, a.alias_norm"
        ).fetchall()

    def group_attack_ids(self) -> dict[str, str]:
        return {
            object_id: ext
            for object_id, ext in self._conn.execute(
                "SELECT e.object_id, e.external_id FROM external_ids e JOIN objects o"
                " ON o.id = e.object_id WHERE o.type = 'intrusion-set'"
                " AND e.source_name = 'mitre-attack' ORDER BY e.object_id, e.external_id"
            )
        }

    def current_campaigns(self) -> Iterator[dict[str, Any]]:
        for (doc,) in self._conn.execute(
            "SELECT json FROM objects WHERE type = 'campaign' AND revoked = 0 AND deprecated = 0"
            " ORDER BY id"
        ):
            yield orjson.loads(doc)

    def actor_relationships(self) -> Iterator[tuple[str, str, str, dict[str, Any] | None]]:
        # JSON only for those whose text the profiles need.
        for source, rel_type, target, doc in self._conn.execute(
            "SELECT r.source_ref, r.relationship_type, r.target_ref,"
            " CASE WHEN r.relationship_type IN ('uses', 'targets')"
            "  AND (r.source_ref LIKE 'intrusion-set--%' OR r.source_ref LIKE 'campaign--%'"
            "  OR r.source_ref LIKE 'threat-actor--%') THEN o.json END"
            " FROM relationships r JOIN objects o ON o.id = r.id"
            " WHERE o.revoked = 0 AND o.deprecated = 0"
            " AND r.relationship_type IN ('uses', 'attributed-to', 'targets') ORDER BY r.id"
        ):
            yield source, rel_type, target, None if doc is None else orjson.loads(doc)

    # -- incidents and observations ---------------------------------------------------------

    def named_initiators(self) -> list[tuple[int, int | None, str]]:
        return self._conn.execute(
            "SELECT fact, day, actor_ref FROM incident_initiators WHERE actor_ref IS NOT NULL"
            " ORDER BY fact, day, actor_ref"
        ).fetchall()

    def incident_victims(self, facts: Iterable[int]) -> list[tuple[int, str | None, str | None]]:
        # Integers only (the fact numbers), so written into the statement: no parameter limit.
        wanted = ",".join(str(int(f)) for f in facts)
        return self._conn.execute(
            f"SELECT fact, country, sector FROM incident_victims WHERE fact IN ({wanted})"
            " ORDER BY fact, country, sector"
        ).fetchall()

    def value_relationships(self) -> list[tuple[str, str, str]]:
        return self._conn.execute(
            "SELECT r.source_ref, r.relationship_type, r.target_ref FROM relationships r"
            " JOIN objects o ON o.id = r.id WHERE o.revoked = 0 AND o.deprecated = 0"
            " AND (r.relationship_type = 'indicates'"
            "  OR (r.relationship_type = 'uses' AND r.target_ref LIKE 'infrastructure--%')"
            "  OR (r.relationship_type = 'consists-of' AND r.source_ref LIKE 'infrastructure--%'))"
            " ORDER BY r.id"
        ).fetchall()

    def current_sightings(self) -> Iterator[dict[str, Any]]:
        for (doc,) in self._conn.execute(
            "SELECT json FROM objects WHERE type = 'sighting' AND revoked = 0 ORDER BY id"
        ):
            yield orjson.loads(doc)

    def relationships_citing(self, text: str) -> set[str]:
        return {
            row[0]
            for row in self._conn.execute(
                "SELECT id FROM objects WHERE type = 'relationship' AND json LIKE ?", (f"%{text}%",)
            )
        }

    # -- names the gazetteer finds ------------------------------------------------------------

    def gazetteer_actor_names(self) -> list[tuple[str, str, str]]:
        # An ATT&CK id names the group ATT&CK gives it, not the groups other sources list it
        # under (MISP's APT41 cites G0044, ATT&CK's Winnti Group): owned ids replace such aliases.
        return self._conn.execute(
            "SELECT a.alias, m.actor_id, ac.name FROM aliases a"
            " JOIN actor_members m ON m.object_id = a.object_id"
            " JOIN actors ac ON ac.id = m.actor_id"
            " WHERE NOT EXISTS (SELECT 1 FROM external_ids e JOIN actor_members o"
            "  ON o.object_id = e.object_id WHERE e.external_id = a.alias)"
            " UNION SELECT e.external_id, m.actor_id, ac.name FROM external_ids e"
            " JOIN actor_members m ON m.object_id = e.object_id"
            " JOIN actors ac ON ac.id = m.actor_id WHERE e.source_name LIKE 'mitre-%'"
            " ORDER BY 1, 2, 3"
        ).fetchall()

    def gazetteer_software_names(self) -> list[tuple[str, str, str | None, str]]:
        return self._conn.execute(
            "SELECT a.alias, o.id, o.name, o.type FROM aliases a JOIN objects o"
            " ON o.id = a.object_id WHERE o.type IN ('malware', 'tool') AND o.revoked = 0"
            " ORDER BY o.id, a.alias"
        ).fetchall()
