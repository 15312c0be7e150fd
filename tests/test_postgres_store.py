"""The PostgreSQL backend on a real server (tests/postgres_server.py): the same knowledge base as
SQLite from the same files, all-or-nothing imports, concurrent writers, schema versions, the CLI
on `postgresql://` URLs, and one clear line for what PostgreSQL cannot do yet.

ATT&CK Enterprise, the MISP galaxy and the reduced EuRepoC table are imported once per module
into both backends, SQLite through the library and PostgreSQL through the CLI, and compared
object by object and row by row.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from conftest import shared_file
from postgres_server import PostgresServer
from threatscope.cli import app
from threatscope.errors import ConfigError, InputError, StoreError
from threatscope.ingest import run_import
from threatscope.store import SQLiteStore, open_store
from threatscope.store.migrations import Migration
from threatscope.store.postgres import PostgresStore
from threatscope.store.postgres_migrations import LATEST, MIGRATIONS

T0 = "2020-01-01T00:00:00.000Z"
REDUCED = "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"


def _group(uid: str, modified: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "intrusion-set",
        "spec_version": "2.1",
        "id": f"intrusion-set--{uid}",
        "created": T0,
        "modified": modified,
        "name": name,
        **extra,
    }


def _bundle(folder: Path, objects: list[dict[str, Any]]) -> Path:
    path = folder / f"bundle-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps({"type": "bundle", "objects": objects}), encoding="utf-8")
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read past the store: what "nothing written" is checked on."""
    with psycopg.connect(url) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
            )
        ]
        return {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables
        }


# -- the same knowledge base on both backends -------------------------------------------------


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
    enterprise_path: Path,
    misp_path: Path,
) -> Iterator[tuple[SQLiteStore, PostgresStore, str]]:
    db = tmp_path_factory.mktemp("both") / "kb.db"
    files = (
        ("misp-galaxy", misp_path),
        ("attack", enterprise_path),
        ("eurepoc", shared_file(REDUCED)),
    )
    with SQLiteStore(db) as kb:
        for source, path in files:
            run_import(kb, source, path)
    url = postgres_server.create_database("both")
    for source, path in files:
        result = _cli("--db", url, "import", source, str(path), "--json")
        assert result.exit_code == 0, result.output
    sqlite, postgres = SQLiteStore(db, read_only=True), PostgresStore(url, read_only=True)
    try:
        yield sqlite, postgres, url
    finally:
        sqlite.close()
        postgres.close()


@pytest.mark.slow
def test_stats_are_the_same_on_both_backends(both: tuple[SQLiteStore, PostgresStore, str]) -> None:
    sqlite, postgres, url = both
    stats = postgres.stats()
    assert stats == sqlite.stats()
    # ATT&CK's 20048 current relationships and EuRepoC's 8122 `targets` (incident -> victim)
    assert stats["relationships"] == 20048 + 8122
    assert stats["objects"]["attack-pattern"] == 703
    # ATT&CK's 1222 intrusion-sets counted with the MISP galaxy's, as SQLite counts them
    assert stats["actors"] == sqlite.stats()["actors"] == 1064
    # the CLI's JSON too, key order included
    by_cli = _cli("--db", url, "stats", "--json")
    by_file = _cli("--db", sqlite.location, "stats", "--json")
    assert by_cli.exit_code == by_file.exit_code == 0
    assert json.loads(by_cli.stdout) == json.loads(by_file.stdout)


@pytest.mark.slow
def test_every_object_is_the_same_and_in_the_same_order(
    both: tuple[SQLiteStore, PostgresStore, str], raw_attack: list[dict[str, Any]]
) -> None:
    sqlite, postgres, _ = both
    everything = list(postgres.iter_stored(include_revoked=True))
    assert [(s.data, s.source) for s in everything] == [
        (s.data, s.source) for s in sqlite.iter_stored(include_revoked=True)
    ]
    assert {s.data["id"] for s in everything if s.source == "attack"} == {
        o["id"] for o in raw_attack
    }
    groups = list(postgres.iter_objects(types=["intrusion-set", "campaign"]))
    assert groups == list(sqlite.iter_objects(types=["intrusion-set", "campaign"]))
    assert not any(o.get("revoked") for o in groups)
    apt28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"
    assert postgres.get_object(apt28) == sqlite.get_object(apt28)
    assert postgres.get_object("intrusion-set--not-there") is None


@pytest.mark.slow
def test_actors_are_found_and_listed_alike(both: tuple[SQLiteStore, PostgresStore, str]) -> None:
    sqlite, postgres, _ = both
    for query in ("APT28", "fancy bear", "G0007", "g0016", "Sofacy", "  Lazarus Group ", "nope"):
        assert postgres.find_actors(query) == sqlite.find_actors(query), query
    assert [a["name"] for a in postgres.find_actors("Fancy Bear")] == ["APT28"]
    for nexus in (None, "RU", "unknown", "XX"):
        assert postgres.list_actors(nexus) == sqlite.list_actors(nexus), nexus
    for query in ("apt2", "panda", "lazarus", ""):
        assert postgres.suggest_actors(query) == sqlite.suggest_actors(query), query
    # Shortest matching name first ("teambear", 8 letters, before "fancybear"). SQLite's
    # DISTINCT ranks an actor by whichever of its matching names it met last (TeamSpy Crew by
    # "angerbear", after APT28), so there the order differs.
    assert postgres.suggest_actors("bear") == [
        "APT29",
        "Bearlyfy",
        "TeamSpy Crew",
        "APT28",
        "Ember Bear",
    ]


@pytest.mark.slow
def test_import_history_is_the_same_but_for_the_clock(
    both: tuple[SQLiteStore, PostgresStore, str],
) -> None:
    sqlite, postgres, _ = both

    def timeless(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in h.items() if k not in ("started", "finished")} for h in history]

    history = postgres.imports()
    assert timeless(history) == timeless(sqlite.imports())
    assert [(h["id"], h["source"], h["added"]) for h in history] == [
        (1, "misp-galaxy", history[0]["received"]),
        (2, "attack", 24771),
        (3, "eurepoc", history[2]["received"]),
    ]
    assert all(h["finished"] >= h["started"] for h in history)


@pytest.mark.slow
def test_index_and_derived_tables_hold_the_same_rows(
    both: tuple[SQLiteStore, PostgresStore, str],
) -> None:
    """Relationships, external ids, aliases, provenance, actor members and lookups, the CVE
    links derived during the import (through the writer's own queries) and the EuRepoC
    incident facts: row for row."""
    sqlite, _, url = both
    tables = (
        "relationships",
        "external_ids",
        "aliases",
        "provenance",
        "actor_members",
        "actor_lookup",
        "actor_cves",
        "incident_facts",
        "incident_initiators",
        "incident_victims",
        "incident_labels",
        "incident_sources",
    )
    on_postgres = _table_rows(url)
    with closing(sqlite3.connect(f"file:{sqlite.location}?mode=ro", uri=True)) as conn:
        for table in tables:
            rows = sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            assert on_postgres[table] == rows, table
    with shared_file(REDUCED).open(encoding="utf-8") as handle:
        incidents = sum(1 for _ in csv.DictReader(handle))  # one incident a row
    counts = [len(on_postgres[t]) for t in ("relationships", "actor_cves", "incident_facts")]
    assert counts == [20048 + 8122, 293, incidents]


# -- writes: all or nothing, versions ----------------------------------------------------------


def test_bad_bundle_writes_nothing(postgres_url: str, tmp_path: Path) -> None:
    with open_store(postgres_url) as store:
        run_import(store, "stix", _bundle(tmp_path, [_group(str(uuid.uuid4()), T0, "Kept")]))
    before = _table_rows(postgres_url)
    good = _group(str(uuid.uuid4()), T0, "Never Stored")
    future = _group(str(uuid.uuid4()), "2999-01-01T00:00:00.000Z", "From The Future")
    bad = _bundle(tmp_path, [good, future])
    with open_store(postgres_url) as store, pytest.raises(InputError, match="From The Future"):
        run_import(store, "stix", bad)
    result = _cli("--db", postgres_url, "import", "stix", str(bad))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        line for line in result.stderr.splitlines() if line.startswith("error: ")
    ]
    assert "is in the future" in result.stderr
    assert _table_rows(postgres_url) == before


def test_a_failure_after_rows_were_copied_rolls_everything_back(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL cannot store a NUL character in jsonb: the object is refused with its id after
    a first chunk of 5,000 objects was already copied, and none of them stays."""
    with open_store(postgres_url) as store:
        run_import(store, "stix", _bundle(tmp_path, [_group(str(uuid.uuid4()), T0, "Kept")]))
    before = _table_rows(postgres_url)
    uid = str(uuid.uuid4())
    groups = [_group(str(uuid.uuid4()), T0, f"Good {i}") for i in range(5_001)]
    bad = _bundle(tmp_path, [*groups, _group(uid, T0, "Null", description="a\u0000b")])
    refused = f"object intrusion-set--{uid}: a string holds a NUL"
    with open_store(postgres_url) as store, pytest.raises(InputError, match=refused):
        run_import(store, "stix", bad)
    assert _table_rows(postgres_url) == before
    with open_store(postgres_url) as store:  # numbered as SQLite numbers them: no gap
        again = run_import(store, "stix", _bundle(tmp_path, groups[:1]))
        assert [h["id"] for h in store.imports()] == [1, again.import_id] == [1, 2]


def test_versions_follow_the_sqlite_rules(postgres_url: str, tmp_path: Path) -> None:
    uid = str(uuid.uuid4())
    group_id = f"intrusion-set--{uid}"
    newer = "2021-01-01T00:00:00.000Z"
    with open_store(postgres_url) as store:
        first = run_import(
            store, "stix", _bundle(tmp_path, [_group(uid, T0, "Alpha", aliases=["Old Name"])])
        )
        again = run_import(store, "stix", _bundle(tmp_path, [_group(uid, T0, "Alpha")]))
        second = run_import(
            store,
            "stix",
            _bundle(tmp_path, [_group(uid, newer, "Alpha Prime", aliases=["New Name"])]),
        )
        older = run_import(store, "stix", _bundle(tmp_path, [_group(uid, T0, "Alpha")]))
        assert (first.added, again.unchanged, second.updated, older.older) == (1, 1, 1, 1)
        assert store.get_object(group_id)["name"] == "Alpha Prime"
        assert store.find_actors("Old Name") == []
        assert [a["id"] for a in store.find_actors("New Name")] == [group_id]
        someone_else = f"identity--{uuid.uuid4()}"
        foreign = _group(uid, "2022-01-01T00:00:00.000Z", "Hijacked", created_by_ref=someone_else)
        with pytest.raises(InputError, match="only an object's producer may publish"):
            run_import(store, "stix", _bundle(tmp_path, [foreign]))
        assert store.get_object(group_id)["name"] == "Alpha Prime"


def test_a_read_only_store_cannot_write(postgres_url: str, tmp_path: Path) -> None:
    with open_store(postgres_url):
        pass
    with open_store(postgres_url, read_only=True) as store:
        with pytest.raises(StoreError, match=r"write failed, nothing was changed: .*read-only"):
            run_import(store, "stix", _bundle(tmp_path, [_group(str(uuid.uuid4()), T0, "X")]))
        assert store.stats()["objects"] == {}


# -- schema versions -------------------------------------------------------------------------


def test_an_older_schema_is_upgraded_and_a_newer_refused(postgres_url: str, tmp_path: Path) -> None:
    with open_store(postgres_url) as store:
        assert store.upgrade.as_dict() == {
            "from_version": 0,
            "to_version": LATEST,
            "migrations": [],
        }
        run_import(store, "stix", _bundle(tmp_path, [_group(str(uuid.uuid4()), T0, "Kept")]))
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DELETE FROM actors")  # derived: the step below asks for a rebuild
    step = Migration(
        LATEST + 1, "a note on every object", ("ALTER TABLE objects ADD COLUMN note TEXT",), True
    )
    with PostgresStore(postgres_url, steps=(*MIGRATIONS, step)) as store:
        assert store.upgrade.as_dict() == {
            "from_version": LATEST,
            "to_version": LATEST + 1,
            "migrations": [{"version": LATEST + 1, "description": "a note on every object"}],
        }
        assert store.stats()["actors"] == 1
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM threatscope_schema").fetchall() == [(LATEST + 1,)]
        assert conn.execute("SELECT count(note) FROM objects").fetchone() == (0,)
    with PostgresStore(postgres_url, steps=(*MIGRATIONS, step)) as store:
        assert store.upgrade.steps == []
    newer = f"schema version {LATEST + 1} is newer than this ThreatScope"
    with pytest.raises(StoreError, match=newer):
        open_store(postgres_url)


def test_another_applications_database_is_refused_untouched(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = _table_rows(postgres_url)
    with pytest.raises(ConfigError, match=r"not a ThreatScope knowledge base \(it holds tables"):
        open_store(postgres_url)
    assert _table_rows(postgres_url) == before == {"invoices": []}


def test_an_empty_database_is_not_a_knowledge_base_for_readers(postgres_url: str) -> None:
    with pytest.raises(ConfigError, match="no knowledge base here yet"):
        open_store(postgres_url, create=False, read_only=True)
    assert _table_rows(postgres_url) == {}
    result = _cli("--db", postgres_url, "stats")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {postgres_url}: no knowledge base here yet; fill one with `threatscope sync` "
        "or `threatscope import`"
    ]


# -- connection errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://analyst:s3cret@127.0.0.1:1/threatscope",
        "postgres://127.0.0.1:1/ts?user=analyst&password=s3cret",
        "postgresql+psycopg://analyst:s3cret@127.0.0.1:1/ts",
    ],
)
def test_a_server_that_is_not_there_is_one_line_and_the_password_stays_masked(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["import", "misp-galaxy"], ["stats"]):
        result = _cli("--db", url, *args)
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"error: {url.replace('s3cret', '***')}: cannot connect: ")
        assert "s3cret" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_two_upserts_with_updates_in_one_transaction(postgres_url: str) -> None:
    """`sync` writes every feed in one transaction: each upsert merges its own updates."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    newer = "2021-01-01T00:00:00.000Z"
    with open_store(postgres_url) as store:
        with store.write() as writer:
            writer.upsert([_group(first, T0, "One"), _group(second, T0, "Two")], "stix", "a")
        with store.write() as writer:
            reports = [
                writer.upsert([_group(uid, newer, f"{name} v2", aliases=[f"{name} alias"])],
                              "stix", name)
                for uid, name in ((first, "One"), (second, "Two"))
            ]  # fmt: skip
        assert [(r.updated, r.added) for r in reports] == [(1, 0), (1, 0)]
        assert [store.get_object(f"intrusion-set--{u}")["name"] for u in (first, second)] == [
            "One v2",
            "Two v2",
        ]
        assert [h["path"] for h in store.imports()] == ["a", "One", "Two"]


def test_split_and_join_an_actor(postgres_url: str, tmp_path: Path) -> None:
    """Two producers' groups of one name merge; a split keeps them apart across imports until
    they are joined again, as on SQLite."""
    from threatscope.actors.split import join_member, split_member
    from threatscope.ingest import write_objects

    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    with open_store(postgres_url) as store:
        write_objects(store, "attack", tmp_path / "a.json", [_group(ours, T0, "Copper Owl")])
        write_objects(store, "misp-galaxy", tmp_path / "b.json", [_group(theirs, T0, "Copper Owl")])
        assert store.stats()["actors"] == 1
        split_member(store, "Copper Owl", "misp-galaxy")
        assert store.stats()["actors"] == 2
        write_objects(store, "stix", tmp_path / "c.json", [_group(str(uuid.uuid4()), T0, "X")])
        assert store.stats()["actors"] == 3  # the split outlives a later import
        join_member(store, f"intrusion-set--{theirs}")
        assert store.stats()["actors"] == 2
        assert len(store.find_actors("Copper Owl")[0]["members"]) == 2


def test_knowledge_base_opens_a_postgresql_url(postgres_url: str, misp_path: Path) -> None:
    from threatscope import KnowledgeBase

    with KnowledgeBase(postgres_url) as kb:
        result = kb.import_file("misp-galaxy", misp_path)
        stats = kb.stats()
        assert stats.actors == result.as_dict()["added"] - 1  # all but the galaxy's identity
        # byte order, as SQLite sorts: "APT37" before "Andariel"
        assert [a.name for a in kb.actors(nexus="KP").actors][:2] == ["APT37", "APT45"]
    with KnowledgeBase(postgres_url, read_only=True) as kb:
        assert kb.stats() == stats


def test_a_reader_opening_an_older_schema_has_it_upgraded(postgres_url: str) -> None:
    with open_store(postgres_url):
        pass
    step = Migration(
        LATEST + 1, "an index on names", ("CREATE INDEX objects_by_name ON objects(name)",)
    )
    with PostgresStore(postgres_url, read_only=True, steps=(*MIGRATIONS, step)) as reader:
        assert reader.upgrade.as_dict()["migrations"] == [
            {"version": LATEST + 1, "description": "an index on names"}
        ]
        assert reader.stats()["objects"] == {}
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM threatscope_schema").fetchone() == (LATEST + 1,)


def test_knowledge_base_messages_and_repr_hide_the_password(postgres_url: str) -> None:
    from threatscope import KnowledgeBase

    open_store(postgres_url).close()  # a knowledge base there (schema made)
    url = postgres_url + ("&" if "?" in postgres_url else "?") + "password=s3cret"
    kb = KnowledgeBase(url, read_only=True)  # the test server trusts its socket: ignored
    assert "s3cret" not in repr(kb)
    with pytest.raises(StoreError) as refused:
        kb.import_file("kev", "whatever.json")
    assert "s3cret" not in str(refused.value) and "read_only=True" in str(refused.value)
    with pytest.raises(ConfigError) as unreachable:
        KnowledgeBase("postgresql://analyst:s3cret@db.invalid/threatscope")
    assert "s3cret" not in str(unreachable.value) and "cannot connect" in str(unreachable.value)
