"""The SQL that fills the TAXII columns of objects stored before them (schema: SQLite 5,
PostgreSQL 2): `tlp_rank` by stix/tlp.py's rule, `date_added` from the import that stored the
current version. The same rule as `object_tlp_rank`, written once per SQL dialect; a test
compares both with the Python rule on the same objects."""

from __future__ import annotations

from threatscope.stix.tlp import MARKING_LEVELS, PRIVATE_DEFAULT, PUBLIC_IMPORTERS, RANKS

__all__ = ["POSTGRES_BACKFILL", "SQLITE_BACKFILL"]


_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"  # TLP 2.0's


def _level_rank(level: str) -> str:
    cases = " ".join(f"WHEN '{key}' THEN {rank}" for key, rank in RANKS.items())
    return f"CASE lower({level}) WHEN 'white' THEN 0 {cases} END"


# The level a stored marking definition `md` gives, as stix.tlp.definition_level reads it.
_SQLITE_LEVEL = _level_rank(
    "coalesce("
    f"json_extract(md.json, '$.extensions.\"{_EXTENSION}\".tlp_2_0'),"
    " CASE WHEN json_extract(md.json, '$.definition_type') = 'tlp'"
    "  THEN json_extract(md.json, '$.definition.tlp') END,"
    " CASE WHEN upper(substr(md.name, 1, 4)) = 'TLP:' THEN substr(md.name, 5) END)"
)
_POSTGRES_LEVEL = _level_rank(
    "coalesce("
    f"md.json #>> '{{extensions,{_EXTENSION},tlp_2_0}}',"
    " CASE WHEN md.json ->> 'definition_type' = 'tlp' THEN md.json #>> '{definition,tlp}' END,"
    " CASE WHEN upper(substr(md.name, 1, 4)) = 'TLP:' THEN substr(md.name, 5) END)"
)


def _rank_of(ref: str, custom_level: str) -> str:
    """A marking's rank: a published TLP id's, else that of a stored TLP definition."""
    cases = " ".join(
        f"WHEN '{marking}' THEN {RANKS[level]}" for marking, level in MARKING_LEVELS.items()
    )
    stored = (
        f"(SELECT {custom_level} FROM objects md"
        f" WHERE md.id = {ref} AND md.type = 'marking-definition')"
    )
    return f"coalesce(CASE {ref} {cases} END, {stored})"


def _unmarked() -> str:
    public = ", ".join(f"'{name}'" for name in PUBLIC_IMPORTERS)
    return f"CASE WHEN source IN ({public}) THEN 0 ELSE {RANKS[PRIVATE_DEFAULT]} END"


_ADDED = "(SELECT started FROM imports WHERE imports.id = objects.import_id)"

SQLITE_BACKFILL = (
    f"UPDATE objects SET date_added = coalesce({_ADDED}, ''), tlp_rank = coalesce(("
    f"SELECT max({_rank_of('ref', _SQLITE_LEVEL)}) FROM ("
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
    f"SELECT max({_rank_of('ref', _POSTGRES_LEVEL)}) FROM ("
    " SELECT item #>> '{}' AS ref FROM jsonb_array_elements("
    f"{_PG_ARRAY.format(key='object_marking_refs')}) item"
    " WHERE jsonb_typeof(item) = 'string'"
    " UNION ALL SELECT item ->> 'marking_ref' FROM jsonb_array_elements("
    f"{_PG_ARRAY.format(key='granular_markings')}) item"
    f" WHERE jsonb_typeof(item) = 'object') refs), {_unmarked()})"
)
