"""The SQL that fills the TAXII columns of objects stored before them (schema: SQLite 5,
PostgreSQL 2): `tlp_rank` by stix/tlp.py's rule, `date_added` from the import that stored the
current version. The same rule as `object_tlp_rank`, written once per SQL dialect; a test
compares both with the Python rule on the same objects."""

from __future__ import annotations

from threatscope.stix.tlp import MARKING_LEVELS, PRIVATE_DEFAULT, PUBLIC_IMPORTERS, RANKS

__all__ = ["POSTGRES_BACKFILL", "SQLITE_BACKFILL"]


def _rank_of(ref: str) -> str:
    cases = " ".join(
        f"WHEN '{marking}' THEN {RANKS[level]}" for marking, level in MARKING_LEVELS.items()
    )
    return f"CASE {ref} {cases} END"


def _unmarked() -> str:
    public = ", ".join(f"'{name}'" for name in PUBLIC_IMPORTERS)
    return f"CASE WHEN source IN ({public}) THEN 0 ELSE {RANKS[PRIVATE_DEFAULT]} END"


_ADDED = "(SELECT started FROM imports WHERE imports.id = objects.import_id)"

SQLITE_BACKFILL = (
    f"UPDATE objects SET date_added = coalesce({_ADDED}, ''), tlp_rank = coalesce(("
    f"SELECT max({_rank_of('ref')}) FROM ("
    " SELECT value AS ref FROM json_each(objects.json, '$.object_marking_refs')"
    " WHERE json_type(objects.json, '$.object_marking_refs') = 'array'"
    " UNION ALL SELECT json_extract(value, '$.marking_ref')"
    " FROM json_each(objects.json, '$.granular_markings')"
    " WHERE json_type(objects.json, '$.granular_markings') = 'array'"
    f"   AND json_type(value) = 'object')), {_unmarked()})"
)

_PG_ARRAY = "CASE WHEN jsonb_typeof(json -> '{key}') = 'array' THEN json -> '{key}' ELSE '[]' END"

POSTGRES_BACKFILL = (
    f"UPDATE objects SET date_added = coalesce({_ADDED}, ''), tlp_rank = coalesce(("
    f"SELECT max({_rank_of('ref')}) FROM ("
    " SELECT item #>> '{}' AS ref FROM jsonb_array_elements("
    f"{_PG_ARRAY.format(key='object_marking_refs')}) item"
    " WHERE jsonb_typeof(item) = 'string'"
    " UNION ALL SELECT item ->> 'marking_ref' FROM jsonb_array_elements("
    f"{_PG_ARRAY.format(key='granular_markings')}) item"
    f" WHERE jsonb_typeof(item) = 'object') refs), {_unmarked()})"
)
