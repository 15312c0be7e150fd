"""The store's side of the TAXII server, on each backend: the TLP rank and date added that the
migration backfills (SQLite schema 5, PostgreSQL 2) and both writers keep, the keyset pages of
`TaxiiQueries`, and the parameters and page tokens the server reads (property-based)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
from hypothesis import given
from hypothesis import strategies as st

from threatscope import KnowledgeBase
from threatscope.server.taxii_params import (
    TaxiiParameterError,
    _read_token,
    next_token,
    read_filter,
    read_paging,
)
from threatscope.sources import all_sources
from threatscope.stix.tlp import PUBLIC_IMPORTERS, RANKS, object_tlp_rank
from threatscope.store import open_store
from threatscope.store.location import postgres_url
from threatscope.store.taxii_queries import TaxiiFilter, TaxiiScope

FIXTURE = Path(__file__).parent / "fixtures" / "tlp_levels.json"


def expected_ranks() -> dict[str, int]:
    objects = json.loads(FIXTURE.read_text())["objects"]
    return {o["id"]: RANKS[o["description"].removeprefix("expected level: ")] for o in objects}


def columns(location: str) -> dict[str, tuple[int, str, str]]:
    """Object id -> (tlp_rank, date_added, its import's start), read with the backend's driver."""
    query = (
        "SELECT o.id, o.tlp_rank, o.date_added, i.started FROM objects o"
        " JOIN imports i ON i.id = o.import_id"
    )
    if postgres_url(location):
        with psycopg.connect(location) as conn:
            rows = conn.execute(query).fetchall()
    else:
        with sqlite3.connect(location) as conn:
            rows = conn.execute(query).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}  # type: ignore[misc]


def forget_columns(location: str) -> None:
    """Take the database back to the schema before the TAXII columns, rows kept."""
    drops = [
        "DROP INDEX objects_by_added",
        "DROP INDEX objects_by_source_added",
        "DROP INDEX objects_by_tlp_added",
        "ALTER TABLE objects DROP COLUMN tlp_rank",
        "ALTER TABLE objects DROP COLUMN date_added",
    ]
    if postgres_url(location):
        with psycopg.connect(location) as conn:
            for statement in drops:
                conn.execute(statement)
            conn.execute("UPDATE threatscope_schema SET version = 1")
    else:
        conn = sqlite3.connect(location, isolation_level=None)
        for statement in drops:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 4")
        conn.close()


def test_the_migration_backfills_rank_and_date_added(kb_location: str) -> None:
    with KnowledgeBase(kb_location) as kb:
        kb.import_file("stix", FIXTURE)
    before = columns(kb_location)
    forget_columns(kb_location)
    with open_store(kb_location) as store:
        taxii_step = 2 if postgres_url(kb_location) else 5
        assert [version for version, _ in store.upgrade.steps] == list(
            range(taxii_step, store.upgrade.to_version + 1)
        )
    after = columns(kb_location)
    assert after == before
    assert {i: rank for i, (rank, _, _) in after.items()} == expected_ranks()
    assert all(added == started for _, added, started in after.values())


def test_the_sql_backfill_and_the_python_rule_agree_on_public_and_private_sources(
    kb_location: str, tmp_path: Path
) -> None:
    objects = json.loads(FIXTURE.read_text())["objects"]
    # The same objects as the ATT&CK importer's (public): unmarked ones are TLP:CLEAR there.
    public = [{**obj, "x_threatscope_importer": "attack"} for obj in objects]
    bundle = tmp_path / "public.json"
    bundle.write_text(json.dumps({"type": "bundle", "objects": public}))
    with KnowledgeBase(kb_location) as kb:
        kb.import_file("stix", bundle)
    written = columns(kb_location)
    forget_columns(kb_location)
    open_store(kb_location).close()
    assert columns(kb_location) == written
    ranks = {obj["id"]: object_tlp_rank(obj, "attack") for obj in public}
    assert {i: rank for i, (rank, _, _) in written.items()} == ranks
    unmarked = next(o["id"] for o in objects if "object_marking_refs" not in o)
    assert ranks[unmarked] == RANKS["clear"]


def test_a_new_version_takes_its_own_rank_and_date_added(kb_location: str, tmp_path: Path) -> None:
    objects = json.loads(FIXTURE.read_text())["objects"]
    with KnowledgeBase(kb_location) as kb:
        kb.import_file("stix", FIXTURE)
    first = columns(kb_location)
    red = next(o for o in objects if o["name"] == "Marked red")
    declassified = {
        **red,
        "modified": "2025-01-01T00:00:00.000Z",
        "object_marking_refs": ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"],
    }
    bundle = tmp_path / "newer.json"
    bundle.write_text(json.dumps({"type": "bundle", "objects": [declassified]}))
    with KnowledgeBase(kb_location) as kb:
        kb.import_file("stix", bundle)
    second = columns(kb_location)
    assert second[red["id"]][0] == RANKS["clear"]
    assert second[red["id"]][1] > first[red["id"]][1]
    assert {i: v for i, v in second.items() if i != red["id"]} == {
        i: v for i, v in first.items() if i != red["id"]
    }


def test_pages_follow_the_key_and_never_pass_the_clearance(kb_location: str) -> None:
    ranks = expected_ranks()
    with KnowledgeBase(kb_location) as kb:
        kb.import_file("stix", FIXTURE)
        store: Any = kb.store
        for clearance in range(5):
            seen: list[str] = []
            after = None
            while True:
                page = store.taxii_page(TaxiiScope("all", clearance), TaxiiFilter(), after, 3)
                seen.extend(row.id for row in page)
                if len(page) < 3:
                    break
                after = (page[-1].date_added, page[-1].id)
            assert seen == sorted(i for i, rank in ranks.items() if rank <= clearance)
            assert store.taxii_sources(clearance) == ["stix"]
            for level in range(5):
                scope = TaxiiScope("tlp", clearance, level)
                rows = store.taxii_page(scope, TaxiiFilter(), None, 100, False)
                expected = sorted(i for i, rank in ranks.items() if rank == level <= clearance)
                assert [row.id for row in rows] == expected
                assert all(row.json == "" for row in rows)


def test_the_public_importers_are_the_shipped_public_sources() -> None:
    shipped = {name for name, source in all_sources().items() if source.public}
    assert set(PUBLIC_IMPORTERS) == shipped


@given(st.text(max_size=60), st.text(max_size=60))
def test_a_page_token_round_trips(date_added: str, object_id: str) -> None:
    assert _read_token(next_token(date_added, object_id)) == (date_added, object_id)


@given(st.text(max_size=200))
def test_any_next_value_is_a_token_or_a_400(token: str) -> None:
    try:
        key = read_paging({"next": token}).after
    except TaxiiParameterError as exc:
        assert str(exc).startswith("next: ")
    else:
        assert key is None or (isinstance(key, tuple) and len(key) == 2)


@given(
    st.dictionaries(
        st.sampled_from(
            ["match[id]", "match[type]", "match[version]", "match[spec_version]", "added_after",
             "match[x]", "limit"]
        ),
        st.text(max_size=40),
    )
)
def test_any_filter_parameters_read_or_refuse_naming_the_parameter(query: dict[str, str]) -> None:
    try:
        found = read_filter(query)
        read_paging(query)
    except TaxiiParameterError as exc:
        assert str(exc).split(":")[0] in query
    else:
        assert found.added_after is None or found.added_after.endswith("Z")


def test_a_producers_own_tlp_definition_ranks_what_it_marks(
    kb_location: str, tmp_path: Path
) -> None:
    """A TLP:RED definition under an id of its own hides what it marks, whether it arrives with
    the object or was stored by an earlier import."""
    own_red = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--0d3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6a7b",
        "created": "2024-01-01T00:00:00.000Z",
        "definition_type": "tlp",
        "definition": {"tlp": "red"},
        "name": "Our red",
    }

    def identity(n: int) -> dict[str, Any]:
        return {
            "type": "identity",
            "spec_version": "2.1",
            "id": f"identity--0d3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6a7{n}",
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "name": f"Marked with our red {n}",
            "object_marking_refs": [own_red["id"]],
        }

    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps({"type": "bundle", "objects": [own_red, identity(0)]}))
    second.write_text(json.dumps({"type": "bundle", "objects": [identity(1)]}))
    with KnowledgeBase(kb_location) as kb:
        kb.import_file("stix", first)
        kb.import_file("stix", second)
    written = columns(kb_location)
    ranks = {i: rank for i, (rank, _, _) in written.items()}
    assert ranks[identity(0)["id"]] == ranks[identity(1)["id"]] == RANKS["red"]
    # The migration's SQL reads the stored definition the same way.
    forget_columns(kb_location)
    open_store(kb_location).close()
    assert columns(kb_location) == written
