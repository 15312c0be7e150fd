"""Schema migrations: a knowledge base written under every earlier schema opens in today's code
with every stored row intact, and a schema newer than the code is refused untouched.

Each historic schema is the verbatim DDL from git history (tests/data/schemas/vN.sql). Rows go
in the way that code wrote them: the tables every version shares (objects, imports, provenance,
lookups, actors, splits) were written by the same INSERT statements then and now, so they are
copied from a scratch knowledge base that today's importers fill; the fact tables get the
columns each version had.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.errors import StoreError
from threatscope.store import SQLiteStore
from threatscope.store.migrations import APPLICATION_ID, LATEST, MIGRATIONS

SCHEMAS = Path(__file__).parent / "data" / "schemas"
FIXTURES = Path(__file__).parent / "fixtures"
HISTORIC = (1, 2, 3, 4, 5, 6, 7)
# What each schema's code wrote into PRAGMA user_version: schema 3 shipped without a bump.
SHIPPED_AS = {1: 1, 2: 2, 3: 2, 4: 4, 5: 5, 6: 6, 7: 7}
# Written by the import and by analyst decisions; a migration must keep every row as it was.
KEPT = (
    "imports",
    "objects",
    "provenance",
    "relationships",
    "external_ids",
    "aliases",
    "actor_splits",
)
SHARED = (*KEPT, "actors", "actor_members", "actor_lookup")
DERIVED = (
    "actors",
    "actor_members",
    "actor_lookup",
    "incident_facts",
    "incident_initiators",
    "incident_victims",
    "incident_labels",
    "incident_sources",
)
APT28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"
PHISHING = "attack-pattern--a62a8db3-f23a-4d8f-afd6-9dbc77e7813b"
BUNDLE = {
    "type": "bundle",
    "id": "bundle--0d0f1d62-6a5d-4d7c-9f9e-0b8d1f0f6d11",
    "objects": [
        {
            "type": "intrusion-set",
            "spec_version": "2.1",
            "id": APT28,
            "created": "2017-05-31T21:31:48.664Z",
            "modified": "2024-04-11T00:06:40.154Z",
            "name": "APT28",
            "aliases": ["APT28", "Fancy Bear", "Sofacy"],
            "external_references": [
                {"source_name": "mitre-attack", "external_id": "G0007"},
            ],
        },
        {
            "type": "attack-pattern",
            "spec_version": "2.1",
            "id": PHISHING,
            "created": "2020-03-02T18:45:07.892Z",
            "modified": "2024-04-12T00:00:00.000Z",
            "name": "Phishing",
            "external_references": [
                {"source_name": "mitre-attack", "external_id": "T1566"},
            ],
        },
        {
            "type": "relationship",
            "spec_version": "2.1",
            "id": "relationship--6e1b5a44-6a0c-4c3e-9a38-2f4f6b3c0a01",
            "created": "2020-03-02T18:45:07.892Z",
            "modified": "2024-04-12T00:00:00.000Z",
            "relationship_type": "uses",
            "source_ref": APT28,
            "target_ref": PHISHING,
        },
    ],
}
WINDOW = "2025-01-01..2026-03-31"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def ok(db: Path, *args: str) -> Result:
    result = run(db, *args)
    assert result.exit_code == 0, result.output
    return result


def rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return sorted(conn.execute(f"SELECT * FROM {table}"), key=repr)
    finally:
        conn.close()


def user_version(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def schema(db: Path) -> dict[str, str]:
    """Tables and indexes by name, their DDL without comments and layout."""
    conn = sqlite3.connect(db)
    try:
        found = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    finally:
        conn.close()
    # ALTER TABLE ADD COLUMN splices its text in before the closing parenthesis, as is.
    return {
        name: re.sub(r" ([,)])", r"\1", " ".join(re.sub(r"--[^\n]*", "", sql).split()))
        for name, sql in found
    }


def application_id(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("PRAGMA application_id").fetchone()[0])
    finally:
        conn.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge base today's code fills: a STIX bundle, a table of incidents, one split."""
    folder = tmp_path_factory.mktemp("scratch")
    bundle = folder / "bundle.json"
    bundle.write_text(json.dumps(BUNDLE))
    db = folder / "kb.db"
    ok(db, "import", "stix", str(bundle))
    table = FIXTURES / "incidents.csv"
    ok(db, "import", "table", str(table), "--mapping", str(FIXTURES / "incidents.toml"))
    ok(db, "actor", "split", "APT28", "table")
    return db


def historic_db(path: Path, version: int, scratch: Path) -> Path:
    """A knowledge base as the code of schema `version` left it, holding the scratch rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript((SCHEMAS / f"v{version}.sql").read_text())
    conn.execute("PRAGMA journal_mode = WAL")  # as every version's store did
    conn.execute("ATTACH DATABASE ? AS scratch", (str(scratch),))
    conn.execute("BEGIN")
    for table in SHARED:
        columns = ", ".join(name for _, name, *_ in conn.execute(f"PRAGMA table_info({table})"))
        conn.execute(f"INSERT INTO {table} SELECT {columns} FROM scratch.{table}")
    if version >= 2:
        for table in ("incident_facts", "incident_victims", "incident_labels"):
            conn.execute(f"INSERT INTO {table} SELECT * FROM scratch.{table}")
    if version == 2:
        conn.execute(
            "INSERT INTO incident_initiators"
            " SELECT fact, category, country, actor_ref FROM scratch.incident_initiators"
        )
    if version >= 3:
        for table in ("incident_initiators", "incident_sources"):
            conn.execute(f"INSERT INTO {table} SELECT * FROM scratch.{table}")
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE scratch")
    conn.close()
    assert user_version(path) == SHIPPED_AS[version]
    return path


def test_every_historic_schema_is_a_step_of_the_migration_list() -> None:
    assert sorted(int(p.stem[1:]) for p in SCHEMAS.glob("v*.sql")) == list(HISTORIC)
    assert [m.version for m in MIGRATIONS] == list(range(2, LATEST + 1))
    assert HISTORIC[-1] == LATEST


@pytest.mark.parametrize("version", HISTORIC[:-1])
def test_each_step_turns_one_schema_into_the_next(tmp_path: Path, version: int) -> None:
    before, after = tmp_path / "before.db", tmp_path / "after.db"
    conn = sqlite3.connect(before)
    conn.executescript((SCHEMAS / f"v{version}.sql").read_text())
    for statement in MIGRATIONS[version - 1].statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    sqlite3.connect(after).executescript((SCHEMAS / f"v{version + 1}.sql").read_text())
    assert schema(before) == schema(after)


def test_schema_sql_is_the_newest_historic_schema(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "new.db"):
        pass
    shipped = tmp_path / "shipped.db"
    sqlite3.connect(shipped).executescript((SCHEMAS / f"v{LATEST}.sql").read_text())
    assert schema(tmp_path / "new.db") == schema(shipped)
    assert user_version(tmp_path / "new.db") == LATEST


@pytest.mark.parametrize("version", HISTORIC)
def test_historic_knowledge_base_upgrades_without_losing_a_row(
    tmp_path: Path, scratch: Path, version: int
) -> None:
    db = historic_db(tmp_path / "kb.db", version, scratch)
    kept = {table: rows(db, table) for table in KEPT}
    assert all(kept.values()), "every kept table holds rows before the upgrade"

    with SQLiteStore(db, create=False) as store:
        upgrade = store.upgrade
    assert (upgrade.from_version, upgrade.to_version) == (SHIPPED_AS[version], LATEST)
    assert [v for v, _ in upgrade.steps] == list(range(SHIPPED_AS[version] + 1, LATEST + 1))
    assert user_version(db) == LATEST
    assert application_id(db) == APPLICATION_ID
    fresh = tmp_path / "fresh.db"
    SQLiteStore(fresh).close()
    assert schema(db) == schema(fresh)
    for table in KEPT:
        # Step 5 adds two columns to objects (checked in test_taxii_store.py); the rest is kept.
        assert [row[: len(kept[table][0])] for row in rows(db, table)] == kept[table], table
    # Actors and facts are rebuilt from the stored objects: the same rows today's import made.
    for table in DERIVED:
        assert rows(db, table) == rows(scratch, table), table

    # The analyst's split survived: the table's APT28 is still an actor apart from ATT&CK's.
    split_object = kept["actor_splits"][0][0]
    members = dict((object_id, actor) for object_id, actor, _ in rows(db, "actor_members"))
    assert members[split_object] != members[APT28]

    stats = json.loads(ok(db, "stats", "--json").stdout)
    assert stats["objects"]["incident"] == 6
    assert stats["objects"]["intrusion-set"] == 1
    figures = json.loads(ok(db, "landscape", "--json", "--window", WINDOW).stdout)
    assert json.loads(ok(scratch, "landscape", "--json", "--window", WINDOW).stdout) == figures

    again = tmp_path / "again.csv"
    again.write_text(
        (FIXTURES / "incidents.csv").read_text().replace("INC-1,03/02/2025", "INC-9,04/02/2025")
    )
    imported = json.loads(
        ok(
            db, "import", "table", str(again), "--mapping", str(FIXTURES / "incidents.toml"),
            "--json",
        ).stdout
    )
    assert imported["added"] >= 1
    assert json.loads(ok(db, "stats", "--json").stdout)["objects"]["incident"] == 7


def test_migrate_command_reports_the_steps_then_nothing(tmp_path: Path, scratch: Path) -> None:
    db = historic_db(tmp_path / "kb.db", 1, scratch)
    first = json.loads(ok(db, "migrate", "--json").stdout)
    assert first == {
        "database": str(db),
        "from_version": 1,
        "to_version": LATEST,
        "migrations": [{"version": m.version, "description": m.description} for m in MIGRATIONS],
    }
    second = json.loads(ok(db, "migrate", "--json").stdout)
    assert second == {
        "database": str(db),
        "from_version": LATEST,
        "to_version": LATEST,
        "migrations": [],
    }
    assert ok(db, "migrate").stdout == f"{db}: schema version {LATEST} is current\n"


def test_two_stores_opening_an_old_file_at_once_migrate_it_once(
    tmp_path: Path, scratch: Path
) -> None:
    db = historic_db(tmp_path / "kb.db", 1, scratch)
    objects = rows(db, "objects")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer holds the lock while both open the old file
    upgrades: list[tuple[int, int]] = []

    def open_store() -> None:
        with SQLiteStore(db, create=False) as store:
            upgrades.append((store.upgrade.from_version, len(store.upgrade.steps)))

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # both have read version 1 and wait for the write lock
    other.execute("COMMIT")
    other.close()
    for thread in threads:
        thread.join(timeout=60)
    # The second to get the lock finds the file already at the newest version.
    assert sorted(upgrades) == [(1, LATEST - 1), (LATEST, 0)]
    assert user_version(db) == LATEST
    assert [row[: len(objects[0])] for row in rows(db, "objects")] == objects


def newer_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE objects (id TEXT PRIMARY KEY);"
        f"INSERT INTO objects VALUES ('x');PRAGMA user_version = {LATEST + 1};"
        f"PRAGMA application_id = {APPLICATION_ID};"  # a later ThreatScope marks its files too
    )
    conn.close()
    return path


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    db = newer_db(tmp_path / "kb" / "kb.db")
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(BUNDLE))
    digest = sha256(db)
    with pytest.raises(StoreError) as raised:
        SQLiteStore(db)
    assert str(raised.value) == (
        f"{db}: schema version {LATEST + 1} is newer than this ThreatScope understands "
        f"({LATEST}); upgrade ThreatScope"
    )
    for command in (("stats",), ("migrate", "--json"), ("import", "stix", str(bundle))):
        result = run(db, *command)
        assert result.exit_code == 2, command
        assert result.stderr.count("\n") == 1
        assert "is newer than this ThreatScope" in result.stderr
    assert sha256(db) == digest
    assert [p.name for p in db.parent.iterdir()] == ["kb.db"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_read_only_old_knowledge_base_says_how_to_upgrade(tmp_path: Path, scratch: Path) -> None:
    db = historic_db(tmp_path / "kb.db", 2, scratch)
    digest = sha256(db)
    db.chmod(0o444)
    result = run(db, "stats")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "cannot upgrade schema version 2 to 3" in result.stderr
    assert "threatscope migrate" in result.stderr
    assert sha256(db) == digest
