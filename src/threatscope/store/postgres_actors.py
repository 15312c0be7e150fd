"""PostgreSQL answers to `ActorQueries` (store/queries.py), the same rows in the same order as
SQLite's (sqlite_actors.py).

What differs from SQLite's SQL, and why:
- lists are one `= ANY(%s)` array parameter, not chunks of `IN (?, …)`;
- SQLite's LIKE ignores ASCII case: ILIKE where it compares data (external ids, source names,
  the text search for "CVE-"), LIKE where it tests a STIX id's type prefix (always lower case);
- a text search of a whole document is `json::text ILIKE`; single properties are `->>`;
- PostgreSQL sorts NULL last, SQLite first: nullable sort keys say NULLS FIRST.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
import psycopg

from threatscope.store.postgres_stream import stream

__all__ = ["PostgresActorQueries"]


class PostgresActorQueries:
    _conn: psycopg.Connection[Any]
    _cursors: Iterator[int]

    def _stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        # A held server-side cursor: a million incidents stream instead of landing at once.
        return stream(self._conn, f"ts_query_{next(self._cursors)}", sql, None, hold=True)

    def _docs(self, sql: str) -> Iterator[tuple[dict[str, Any], str]]:
        yield from self._stream(sql)

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
        row = self._conn.execute("SELECT max(id), count(*) FROM imports").fetchone()
        assert row is not None  # an aggregate always answers one row
        return row[0], row[1]

    def holds_source(self, source: str) -> bool:
        query = "SELECT EXISTS (SELECT 1 FROM objects WHERE source = %s)"
        row = self._conn.execute(query, (source,)).fetchone()
        return bool(row and row[0])

    def actor_name_variants(self, actor_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(actor_ids))
        if not wanted:
            return set()
        query = (
            "WITH m AS (SELECT object_id FROM actor_members WHERE actor_id = ANY(%(ids)s))"
            " SELECT name FROM actors WHERE id = ANY(%(ids)s)"
            " UNION SELECT o.name FROM objects o JOIN m ON m.object_id = o.id"
            " WHERE o.name IS NOT NULL"
            " UNION SELECT a.alias FROM aliases a JOIN m ON m.object_id = a.object_id"
            " UNION SELECT e.external_id FROM external_ids e JOIN m ON m.object_id = e.object_id"
            " WHERE e.source_name ILIKE 'mitre-%%'"
        )
        return {str(row[0]) for row in self._conn.execute(query, {"ids": wanted}) if row[0]}

    def actor_nexus(self, actor_ids: Sequence[str]) -> dict[str, str]:
        if not actor_ids:
            return {}
        rows = self._conn.execute(
            "SELECT id, nexus FROM actors WHERE id = ANY(%s) ORDER BY id", (list(actor_ids),)
        )
        return {actor_id: nexus for actor_id, nexus in rows if nexus}

    def actor_attack_group_ids(self, actor_ids: Sequence[str]) -> dict[str, str]:
        if not actor_ids:
            return {}
        rows = self._conn.execute(
            "SELECT m.actor_id, min(e.external_id) FROM actor_members m JOIN external_ids e"
            " ON e.object_id = m.object_id WHERE e.source_name = 'mitre-attack'"
            " AND e.external_id ILIKE 'G%%' AND m.actor_id = ANY(%s) GROUP BY m.actor_id",
            (list(actor_ids),),
        )
        return dict(rows.fetchall())

    # -- objects -----------------------------------------------------------------------------

    def current_object_ids(self, types: Sequence[str]) -> set[str]:
        return {
            object_id
            for (object_id,) in self._conn.execute(
                "SELECT id FROM objects WHERE type = ANY(%s) AND revoked = 0 AND deprecated = 0",
                (list(types),),
            )
        }

    def current_objects_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        return dict(
            self._conn.execute(
                "SELECT id, json FROM objects WHERE id = ANY(%s) AND revoked = 0 ORDER BY id",
                (list(ids),),
            ).fetchall()
        )

    def vulnerability_names(self) -> list[tuple[str, str | None]]:
        return self._conn.execute(
            "SELECT id, name FROM objects WHERE type = 'vulnerability' AND revoked = 0"
            " ORDER BY id"
        ).fetchall()

    def vulnerability_by_name(self, name: str) -> dict[str, Any] | None:
        found = self._conn.execute(
            "SELECT json FROM objects WHERE type = 'vulnerability' AND name = %s"
            " ORDER BY id LIMIT 1",
            (name,),
        ).fetchone()
        return found[0] if found else None

    def vulnerabilities_named(self, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not names:
            return {}
        return {
            name.upper(): doc
            for name, doc in self._conn.execute(
                "SELECT name, json FROM objects WHERE type = 'vulnerability' AND revoked = 0"
                " AND name = ANY(%s) ORDER BY id",
                (list(names),),
            )
        }

    def ransomware_cve_names(self) -> set[str]:
        return {
            name.upper()
            for (name,) in self._conn.execute(
                "SELECT name FROM objects WHERE type = 'vulnerability' AND revoked = 0"
                " AND json->>'x_kev_known_ransomware_campaign_use' = 'Known'"
            )
            if name
        }

    def name_and_attack_id(self, object_id: str) -> tuple[str | None, str | None] | None:
        row = self._conn.execute(
            "SELECT o.name, (SELECT min(e.external_id) FROM external_ids e"
            " WHERE e.object_id = o.id AND e.source_name = 'mitre-attack')"
            " FROM objects o WHERE o.id = %s",
            (object_id,),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def cve_relationships(self) -> Iterator[tuple[dict[str, Any], str]]:
        return self._docs(
            "SELECT o.json, o.source FROM relationships r JOIN objects o ON o.id = r.id"
            " WHERE o.revoked = 0 AND o.deprecated = 0"
            " AND (r.source_ref LIKE 'intrusion-set--%' OR r.source_ref LIKE 'threat-actor--%'"
            "  OR r.source_ref LIKE 'campaign--%')"
            " AND (r.target_ref LIKE 'vulnerability--%' OR o.json::text ILIKE '%CVE-%')"
            " ORDER BY r.id"
        )

    def holders_mentioning_cves(self) -> Iterator[tuple[dict[str, Any], str]]:
        return self._docs(
            "SELECT json, source FROM objects WHERE type IN ('intrusion-set', 'threat-actor',"
            " 'campaign') AND revoked = 0 AND deprecated = 0 AND json::text ILIKE '%CVE-%'"
            " ORDER BY id"
        )

    def incidents_mentioning_cves(self) -> Iterator[tuple[dict[str, Any], str]]:
        return self._docs(
            "SELECT json, source FROM objects WHERE type = 'incident' AND revoked = 0"
            " AND json::text ILIKE '%CVE-%' ORDER BY id"
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
            " AND starts_with(r.source_ref, %s) ORDER BY r.source_ref, r.target_ref",
            (f"{prefix}--",),
        ).fetchall()

    def stored_cve_links(self) -> list[tuple[str, str, str, str, str, str, list[str]]] | None:
        # The PostgreSQL schema has held actor_cves from its first version.
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
                " AND e.external_id = ANY(%s) ORDER BY e.external_id, o.id",
                (list(attack_ids),),
            ).fetchall()
        )

    def technique_descriptions(self) -> list[str | None]:
        return [
            text
            for (text,) in self._conn.execute(
                "SELECT json->>'description' FROM objects WHERE type = 'attack-pattern'"
                " ORDER BY id"
            )
        ]

    def software_names(self) -> dict[str, str | None]:
        return dict(
            self._conn.execute(
                "SELECT id, name FROM objects WHERE type IN ('malware', 'tool') AND revoked = 0"
                " AND deprecated = 0 ORDER BY id"
            ).fetchall()
        )

    def software_aliases(self) -> list[tuple[str, str]]:
        return self._conn.execute(
            "SELECT a.alias_norm, a.object_id FROM aliases a JOIN objects o ON o.id = a.object_id"
            " WHERE o.type IN ('malware', 'tool') AND o.revoked = 0 AND o.deprecated = 0"
            " ORDER BY a.object_id, a.alias_norm"
        ).fetchall()

    def group_attack_ids(self) -> dict[str, str]:
        return dict(
            self._conn.execute(
                "SELECT e.object_id, e.external_id FROM external_ids e JOIN objects o"
                " ON o.id = e.object_id WHERE o.type = 'intrusion-set'"
                " AND e.source_name = 'mitre-attack' ORDER BY e.object_id, e.external_id"
            ).fetchall()
        )

    def current_campaigns(self) -> Iterator[dict[str, Any]]:
        for (doc,) in self._stream(
            "SELECT json FROM objects WHERE type = 'campaign' AND revoked = 0 AND deprecated = 0"
            " ORDER BY id"
        ):
            yield doc

    def actor_relationships(self) -> Iterator[tuple[str, str, str, dict[str, Any] | None]]:
        # JSON only for those whose text the profiles need.
        yield from self._stream(
            "SELECT r.source_ref, r.relationship_type, r.target_ref,"
            " CASE WHEN r.relationship_type IN ('uses', 'targets')"
            "  AND (r.source_ref LIKE 'intrusion-set--%' OR r.source_ref LIKE 'campaign--%'"
            "  OR r.source_ref LIKE 'threat-actor--%') THEN o.json END"
            " FROM relationships r JOIN objects o ON o.id = r.id"
            " WHERE o.revoked = 0 AND o.deprecated = 0"
            " AND r.relationship_type IN ('uses', 'attributed-to', 'targets') ORDER BY r.id"
        )

    # -- incidents and observations ---------------------------------------------------------

    def named_initiators(self) -> list[tuple[int, int | None, str]]:
        return self._conn.execute(
            "SELECT fact, day, actor_ref FROM incident_initiators WHERE actor_ref IS NOT NULL"
            " ORDER BY fact, day NULLS FIRST, actor_ref"
        ).fetchall()

    def incident_victims(self, facts: Iterable[int]) -> list[tuple[int, str | None, str | None]]:
        wanted = [int(f) for f in facts]
        if not wanted:
            return []
        return self._conn.execute(
            "SELECT fact, country, sector FROM incident_victims WHERE fact = ANY(%s::bigint[])"
            " ORDER BY fact, country NULLS FIRST, sector NULLS FIRST",
            (wanted,),
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
        for (doc,) in self._stream(
            "SELECT json FROM objects WHERE type = 'sighting' AND revoked = 0 ORDER BY id"
        ):
            yield doc

    def relationships_citing(self, text: str) -> set[str]:
        # ESCAPE '': `_` and `%` in `text` stay wildcards and a backslash is literal, as in
        # SQLite's LIKE.
        return {
            object_id
            for (object_id,) in self._conn.execute(
                "SELECT id FROM objects WHERE type = 'relationship'"
                " AND json::text ILIKE %s ESCAPE ''",
                (f"%{text}%",),
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
            " JOIN actors ac ON ac.id = m.actor_id WHERE e.source_name ILIKE 'mitre-%'"
            " ORDER BY 1, 2, 3"
        ).fetchall()

    def gazetteer_software_names(self) -> list[tuple[str, str, str | None, str]]:
        return self._conn.execute(
            "SELECT a.alias, o.id, o.name, o.type FROM aliases a JOIN objects o"
            " ON o.id = a.object_id WHERE o.type IN ('malware', 'tool') AND o.revoked = 0"
            " ORDER BY o.id, a.alias"
        ).fetchall()
