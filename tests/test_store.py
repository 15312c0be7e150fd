"""The SQLite knowledge base through the ingest layer: counts, versioning, provenance,
transactions, concurrent writers and export.

Expected numbers are counted in the raw files (or the hand-made bundles) inside each test.
The full Enterprise import runs once per module; tests work on copies of that database.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from threatscope.errors import InputError, StoreError
from threatscope.export import export_bundle
from threatscope.ingest import load_source, run_import, write_objects
from threatscope.store import ImportReport, SQLiteStore

T0 = "2020-01-01T00:00:00.000Z"


# -- helpers ------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _db_files(db: Path) -> list[Path]:
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def _copy_db(source: Path, target: Path) -> Path:
    for file in _db_files(source):
        shutil.copy(file, target.parent / file.name.replace(source.name, target.name))
    return target


def _connect_ro(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [name for (name,) in rows]


def table_counts(db: Path) -> dict[str, int]:
    with closing(_connect_ro(db)) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _tables(conn)}


def table_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with closing(_connect_ro(db)) as conn:
        return {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
            for t in _tables(conn)
        }


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


def _import(store: SQLiteStore, folder: Path, objects: list[dict[str, Any]]) -> ImportReport:
    """Write the objects as a bundle file and import it through the `stix` source."""
    path = folder / f"bundle-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps({"type": "bundle", "objects": objects}), encoding="utf-8")
    return run_import(store, "stix", path)


def _non_revoked_counts(objects: list[dict[str, Any]]) -> tuple[dict[str, int], int]:
    live = [o for o in objects if o.get("revoked") is not True]
    per_type = Counter(o["type"] for o in live if o["type"] != "relationship")
    relationships = sum(1 for o in live if o["type"] == "relationship")
    return dict(per_type), relationships


# -- ATT&CK Enterprise, imported once per module ----------------------------------------------


@pytest.fixture(scope="module")
def enterprise_raw(enterprise_path: Path) -> list[dict[str, Any]]:
    return _read_json(enterprise_path)["objects"]


@pytest.fixture(scope="module")
def enterprise_db(
    tmp_path_factory: pytest.TempPathFactory, enterprise_path: Path
) -> tuple[Path, ImportReport]:
    db = tmp_path_factory.mktemp("enterprise") / "kb.db"
    with SQLiteStore(db) as kb:
        report = run_import(kb, "attack", enterprise_path)
    return db, report


@pytest.fixture
def enterprise_copy(enterprise_db: tuple[Path, ImportReport], tmp_path: Path) -> Path:
    return _copy_db(enterprise_db[0], tmp_path / "kb.db")


@pytest.fixture
def enterprise_store(enterprise_copy: Path) -> Iterator[SQLiteStore]:
    kb = SQLiteStore(enterprise_copy)
    try:
        yield kb
    finally:
        kb.close()


def test_enterprise_import_report(
    enterprise_db: tuple[Path, ImportReport], enterprise_raw: list[dict[str, Any]]
) -> None:
    _, report = enterprise_db
    assert report.source == "attack"
    assert report.received == len(enterprise_raw)
    assert report.added == len({o["id"] for o in enterprise_raw})
    assert (report.updated, report.unchanged, report.older) == (0, 0, 0)


def test_enterprise_stats_match_raw_counts(
    enterprise_store: SQLiteStore, enterprise_raw: list[dict[str, Any]]
) -> None:
    per_type, relationships = _non_revoked_counts(enterprise_raw)
    stats = enterprise_store.stats()
    assert stats["objects"] == per_type
    assert stats["relationships"] == relationships
    # every ATT&CK group comes from one producer, so no two can merge: one actor each
    groups = [
        o for o in enterprise_raw if o["type"] == "intrusion-set" and o.get("revoked") is not True
    ]
    assert len({g.get("created_by_ref") for g in groups}) == 1
    assert stats["actors"] == len(groups)


def test_enterprise_revoked_objects_are_stored_but_not_counted(
    enterprise_store: SQLiteStore, enterprise_raw: list[dict[str, Any]]
) -> None:
    revoked = [o for o in enterprise_raw if o.get("revoked") is True]
    assert revoked, "the shared bundle has revoked objects"
    # only the types that have revoked objects, to keep the test quick
    types = sorted({o["type"] for o in revoked})
    of_types = [o for o in enterprise_raw if o["type"] in types]
    everything = list(enterprise_store.iter_objects(types=types, include_revoked=True))
    current = list(enterprise_store.iter_objects(types=types))
    assert sorted(o["id"] for o in everything) == sorted(o["id"] for o in of_types)
    assert sorted(o["id"] for o in current) == sorted(
        o["id"] for o in of_types if o.get("revoked") is not True
    )
    for obj in revoked:
        assert enterprise_store.get_object(obj["id"])["revoked"] is True


def test_enterprise_objects_keep_their_properties(
    enterprise_store: SQLiteStore, enterprise_raw: list[dict[str, Any]]
) -> None:
    groups = [o for o in enterprise_raw if o["type"] in ("intrusion-set", "x-mitre-tactic")]
    for raw in groups:
        stored = enterprise_store.get_object(raw["id"])
        assert stored is not None
        assert {k: stored[k] for k in raw} == raw
        assert stored["spec_version"] == "2.1"
    typed = enterprise_store.iter_objects(types=["x-mitre-tactic", "campaign"])
    expected = Counter(
        o["type"]
        for o in enterprise_raw
        if o["type"] in ("x-mitre-tactic", "campaign") and not o.get("revoked")
    )
    assert Counter(o["type"] for o in typed) == expected


def test_enterprise_reimport_changes_nothing(
    enterprise_store: SQLiteStore,
    enterprise_copy: Path,
    enterprise_path: Path,
    enterprise_raw: list[dict[str, Any]],
) -> None:
    stats_before = enterprise_store.stats()
    counts_before = table_counts(enterprise_copy)

    report = run_import(enterprise_store, "attack", enterprise_path)

    assert (report.added, report.updated, report.older) == (0, 0, 0)
    assert report.unchanged == len({o["id"] for o in enterprise_raw})
    assert report.received == len(enterprise_raw)
    assert enterprise_store.stats() == stats_before
    counts_after = table_counts(enterprise_copy)
    assert counts_after.pop("imports") == counts_before.pop("imports") + 1
    assert counts_after == counts_before
    history = enterprise_store.imports()
    assert [h["id"] for h in history] == [1, report.import_id]
    assert history[-1]["unchanged"] == report.unchanged
    assert history[-1]["finished"] is not None


def _object_rows(db: Path) -> list[tuple[Any, ...]]:
    """Everything about the stored objects except which import brought them."""
    with closing(_connect_ro(db)) as conn:
        return conn.execute(
            "SELECT id, type, name, created, modified, revoked, deprecated, json"
            " FROM objects ORDER BY id"
        ).fetchall()


def test_enterprise_export_round_trips(
    enterprise_store: SQLiteStore,
    enterprise_copy: Path,
    enterprise_raw: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "export.json"
    count = export_bundle(enterprise_store, bundle)

    live = [o for o in enterprise_raw if o.get("revoked") is not True]
    assert count == len(live)
    assert not list(tmp_path.glob("*.part"))

    fresh_db = tmp_path / "fresh.db"
    with SQLiteStore(fresh_db) as fresh:
        report = run_import(fresh, "stix", bundle)
        assert (report.received, report.added) == (len(live), len(live))
        assert fresh.stats() == enterprise_store.stats()
    live_ids = {o["id"] for o in live}
    assert _object_rows(fresh_db) == [r for r in _object_rows(enterprise_copy) if r[0] in live_ids]


# -- versioning on hand-made bundles --------------------------------------------------------


def test_newer_version_replaces(store: SQLiteStore, tmp_path: Path) -> None:
    uid = str(uuid.uuid4())
    first = _import(store, tmp_path, [_group(uid, "2020-01-01T00:00:00.000Z", "Alpha")])
    second = _import(store, tmp_path, [_group(uid, "2021-01-01T00:00:00.000Z", "Alpha Prime")])

    assert (first.added, first.updated) == (1, 0)
    assert (second.added, second.updated, second.unchanged, second.older) == (0, 1, 0, 0)
    stored = store.get_object(f"intrusion-set--{uid}")
    assert stored["name"] == "Alpha Prime"
    assert stored["modified"] == "2021-01-01T00:00:00.000Z"
    assert store.stats()["objects"] == {"intrusion-set": 1}


def test_newer_version_replaces_aliases_and_relationship_rows(
    store: SQLiteStore, db_path: Path, tmp_path: Path
) -> None:
    uid = str(uuid.uuid4())
    group_id = f"intrusion-set--{uid}"
    rel_id = f"relationship--{uuid.uuid4()}"
    first_target, second_target = f"malware--{uuid.uuid4()}", f"tool--{uuid.uuid4()}"

    def rel(modified: str, target: str) -> dict[str, Any]:
        return {
            "type": "relationship",
            "spec_version": "2.1",
            "id": rel_id,
            "created": T0,
            "modified": modified,
            "relationship_type": "uses",
            "source_ref": group_id,
            "target_ref": target,
        }

    _import(
        store,
        tmp_path,
        [
            _group(uid, T0, "Alpha", aliases=["Alpha", "Old Name"]),
            rel(T0, first_target),
        ],
    )
    assert [a["id"] for a in store.find_actors("Old Name")] == [group_id]

    newer = "2021-01-01T00:00:00.000Z"
    report = _import(
        store,
        tmp_path,
        [
            _group(uid, newer, "Alpha Prime", aliases=["Alpha Prime", "New Name"]),
            rel(newer, second_target),
        ],
    )

    assert report.updated == 2
    with closing(_connect_ro(db_path)) as conn:
        aliases = conn.execute(
            "SELECT alias FROM aliases WHERE object_id = ? ORDER BY alias", (group_id,)
        ).fetchall()
        rels = conn.execute(
            "SELECT id, source_ref, relationship_type, target_ref FROM relationships"
        ).fetchall()
    assert aliases == [("Alpha Prime",), ("New Name",)]
    assert rels == [(rel_id, group_id, "uses", second_target)]
    assert store.find_actors("Old Name") == []
    assert [a["id"] for a in store.find_actors("New Name")] == [group_id]


def test_older_version_is_ignored(store: SQLiteStore, tmp_path: Path) -> None:
    uid = str(uuid.uuid4())
    _import(store, tmp_path, [_group(uid, "2021-01-01T00:00:00.000Z", "New")])
    report = _import(store, tmp_path, [_group(uid, "2020-06-01T00:00:00.000Z", "Old")])

    assert (report.added, report.updated, report.unchanged, report.older) == (0, 0, 0, 1)
    assert store.get_object(f"intrusion-set--{uid}")["name"] == "New"


def test_same_modified_is_unchanged_whatever_the_precision(
    store: SQLiteStore, tmp_path: Path
) -> None:
    uid = str(uuid.uuid4())
    _import(store, tmp_path, [_group(uid, "2021-03-04T05:06:07.1Z", "First")])
    same = _import(store, tmp_path, [_group(uid, "2021-03-04T05:06:07.1Z", "Second")])
    padded = _import(store, tmp_path, [_group(uid, "2021-03-04T05:06:07.100000Z", "Third")])
    finer = _import(store, tmp_path, [_group(uid, "2021-03-04T05:06:07.100001Z", "Fourth")])

    assert (same.added, same.updated, same.unchanged, same.older) == (0, 0, 1, 0)
    assert (padded.added, padded.updated, padded.unchanged, padded.older) == (0, 0, 1, 0)
    assert (finer.updated, finer.unchanged) == (1, 0)
    assert store.get_object(f"intrusion-set--{uid}")["name"] == "Fourth"


def test_several_versions_in_one_input_keep_the_newest(store: SQLiteStore, tmp_path: Path) -> None:
    uid = str(uuid.uuid4())
    versions = [
        _group(uid, "2020-01-01T00:00:00.000Z", "v1"),
        _group(uid, "2022-01-01T00:00:00.000Z", "v3"),
        _group(uid, "2021-01-01T00:00:00.000Z", "v2"),
    ]
    report = _import(store, tmp_path, versions)
    assert (report.received, report.added, report.older) == (3, 1, 2)
    assert store.get_object(f"intrusion-set--{uid}")["name"] == "v3"


def test_provenance_records_which_import_brought_which_version(
    store: SQLiteStore, db_path: Path, tmp_path: Path
) -> None:
    uid = str(uuid.uuid4())
    other = str(uuid.uuid4())
    object_id = f"intrusion-set--{uid}"
    first = _import(
        store,
        tmp_path,
        [
            _group(uid, "2020-01-01T00:00:00Z", "One"),
            _group(other, "2020-01-01T00:00:00Z", "Other"),
        ],
    )
    second = _import(store, tmp_path, [_group(uid, "2020-02-01T00:00:00.5Z", "Two")])
    third = _import(
        store,
        tmp_path,
        [
            _group(uid, "2020-01-01T00:00:00Z", "One"),  # older: no new provenance
            _group(other, "2020-01-01T00:00:00Z", "Other"),  # unchanged: none either
        ],
    )
    assert (third.older, third.unchanged) == (1, 1)

    with closing(_connect_ro(db_path)) as conn:
        rows = conn.execute(
            "SELECT object_id, modified, import_id FROM provenance ORDER BY import_id, object_id"
        ).fetchall()
        current = conn.execute(
            "SELECT import_id, source FROM objects WHERE id = ?", (object_id,)
        ).fetchone()
    # modified is stored in the fixed-width form (microseconds, UTC 'Z')
    assert sorted(rows) == sorted(
        [
            (object_id, "2020-01-01T00:00:00.000000Z", first.import_id),
            (f"intrusion-set--{other}", "2020-01-01T00:00:00.000000Z", first.import_id),
            (object_id, "2020-02-01T00:00:00.500000Z", second.import_id),
        ]
    )
    assert current == (second.import_id, "stix")
    history = store.imports()
    assert [h["id"] for h in history] == [first.import_id, second.import_id, third.import_id]
    assert [(h["received"], h["added"], h["updated"]) for h in history] == [
        (2, 2, 0),
        (1, 0, 1),
        (2, 0, 0),
    ]


def test_provenance_names_the_importing_source(store: SQLiteStore, tmp_path: Path) -> None:
    uid, producer = str(uuid.uuid4()), f"identity--{uuid.uuid4()}"
    # One producer (created_by_ref) may publish its versions through any importer.
    _import(store, tmp_path, [_group(uid, "2020-01-01T00:00:00Z", "One", created_by_ref=producer)])
    newer = _group(uid, "2020-05-01T00:00:00Z", "Two", created_by_ref=producer)
    report = write_objects(store, "misp-galaxy", tmp_path / "g.json", [newer])
    assert report.updated == 1
    with store.write() as writer:
        (held,) = writer.actor_objects()
    assert (held.data["name"], held.source) == ("Two", "misp-galaxy")
    assert [h["source"] for h in store.imports()] == ["stix", "misp-galaxy"]


def test_revoked_objects_are_excluded_from_stats(store: SQLiteStore, tmp_path: Path) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    malware_id = f"malware--{uuid.uuid4()}"

    def rel(target: str, **extra: Any) -> dict[str, Any]:
        return {
            "type": "relationship",
            "spec_version": "2.1",
            "id": f"relationship--{uuid.uuid4()}",
            "created": T0,
            "modified": T0,
            "relationship_type": "uses",
            "source_ref": f"intrusion-set--{a}",
            "target_ref": target,
            **extra,
        }

    objects = [
        _group(a, T0, "Live Group", revoked=False),
        _group(b, T0, "Dead Group", revoked=True),
        {
            "type": "malware",
            "spec_version": "2.1",
            "id": malware_id,
            "created": T0,
            "modified": T0,
            "name": "M",
            "is_family": True,
        },
        rel(malware_id),
        rel(malware_id, revoked=True),
    ]
    _import(store, tmp_path, objects)

    stats = store.stats()
    assert stats["objects"] == {"intrusion-set": 1, "malware": 1}
    assert stats["relationships"] == 1
    assert stats["actors"] == 1
    assert len(list(store.iter_objects())) == 3
    assert len(list(store.iter_objects(include_revoked=True))) == len(objects)

    # a newer version that revokes the live group takes it out of the counts and the actors
    _import(store, tmp_path, [_group(a, "2021-01-01T00:00:00Z", "Live Group", revoked=True)])
    stats = store.stats()
    assert stats["objects"] == {"malware": 1}
    assert stats["actors"] == 0


# -- transactions -----------------------------------------------------------------------------


def test_failure_inside_write_rolls_everything_back(
    store: SQLiteStore, db_path: Path, tmp_path: Path
) -> None:
    uid = str(uuid.uuid4())
    _import(store, tmp_path, [_group(uid, T0, "Before", aliases=["Before", "B4"])])
    snapshot = table_rows(db_path)
    stats = store.stats()

    newer = _group(uid, "2022-01-01T00:00:00Z", "After", aliases=["After"])
    added = _group(str(uuid.uuid4()), T0, "Brand New")
    with pytest.raises(RuntimeError, match="disk on fire"), store.write() as writer:
        report = writer.upsert([newer, added], source="stix", path="x.json")
        assert (report.added, report.updated) == (1, 1)
        raise RuntimeError("disk on fire")

    assert table_rows(db_path) == snapshot
    assert store.stats() == stats
    assert store.get_object(f"intrusion-set--{uid}")["name"] == "Before"
    assert store.get_object(added["id"]) is None
    assert len(store.imports()) == 1
    # the store is still usable afterwards
    assert _import(store, tmp_path, [newer]).updated == 1


def test_database_error_inside_write_becomes_store_error(
    store: SQLiteStore, db_path: Path, tmp_path: Path
) -> None:
    _import(store, tmp_path, [_group(str(uuid.uuid4()), T0, "Kept")])
    snapshot = table_rows(db_path)
    # the writer trusts its input; a NULL endpoint violates the relationships table
    broken = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": f"relationship--{uuid.uuid4()}",
        "created": T0,
        "modified": T0,
        "relationship_type": "uses",
        "source_ref": None,
        "target_ref": f"malware--{uuid.uuid4()}",
    }
    fine = _group(str(uuid.uuid4()), T0, "Also Not Stored")
    with pytest.raises(StoreError, match="nothing was changed"), store.write() as writer:
        writer.upsert([fine, broken], source="stix", path="x.json")
    assert table_rows(db_path) == snapshot


def test_bad_input_leaves_the_store_untouched(
    store: SQLiteStore, db_path: Path, tmp_path: Path
) -> None:
    _import(store, tmp_path, [_group(str(uuid.uuid4()), T0, "Kept")])
    snapshot = table_rows(db_path)
    good = _group(str(uuid.uuid4()), T0, "Never Stored")
    bad = _group(str(uuid.uuid4()), T0, "Bad", created_by_ref="nobody")
    with pytest.raises(InputError, match="object 1"):
        _import(store, tmp_path, [good, bad])
    assert table_rows(db_path) == snapshot


# -- two writers in two processes -------------------------------------------------------------


def _import_after_barrier(db: str, source: str, path: str, barrier: Any, results: Any) -> None:
    """Child process: parse, wait for the other child, then open the db and write at once."""
    resolved, objects = load_source(source, Path(path))
    barrier.wait(timeout=60)
    kb = SQLiteStore(db)
    try:
        report = write_objects(kb, source, resolved, objects)
    finally:
        kb.close()
    results.put((source, report.as_dict()))


def _assert_kev_and_misp_complete(db: Path, kev_path: Path, misp_path: Path) -> None:
    kev = _read_json(kev_path)["vulnerabilities"]
    misp = _read_json(misp_path)["values"]
    with SQLiteStore(db) as kb:
        stats = kb.stats()
        assert stats["objects"] == {
            "identity": 2,
            "vulnerability": len(kev),
            "intrusion-set": len(misp),
        }
        names = {o["name"] for o in kb.iter_objects(types=["vulnerability"])}
        assert names == {e["cveID"] for e in kev}
        ids = {o["id"] for o in kb.iter_objects(types=["intrusion-set"])}
        assert ids == {f"intrusion-set--{v['uuid'].lower()}" for v in misp}
        # one producer for the whole galaxy: nothing merges, one actor per value
        assert stats["actors"] == len(misp)
        history = kb.imports()
    assert sorted((h["source"], h["received"], h["added"]) for h in history) == [
        ("kev", len(kev) + 1, len(kev) + 1),
        ("misp-galaxy", len(misp) + 1, len(misp) + 1),
    ]


def test_opening_a_new_db_waits_for_a_concurrent_writer(tmp_path: Path) -> None:
    """Deterministic form of the race two first imports into one new file run into."""
    db = tmp_path / "new.db"
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process mid-way through its first write
    released = threading.Event()

    def release() -> None:
        time.sleep(0.3)
        other.execute("COMMIT")
        released.set()

    thread = threading.Thread(target=release)
    thread.start()
    try:
        kb = SQLiteStore(db)  # must wait for the lock (busy_timeout), not fail at once
        kb.close()
        assert released.is_set()
    finally:
        thread.join()
        other.close()


def test_concurrent_imports_in_two_processes(
    tmp_path: Path, kev_path: Path, misp_path: Path
) -> None:
    db = tmp_path / "shared.db"  # a fresh file: both writers race to create it
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_import_after_barrier,
            args=(str(db), source, str(path), barrier, results),
        )
        for source, path in (("kev", kev_path), ("misp-galaxy", misp_path))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    reports = dict(results.get(timeout=5) for _ in workers)
    assert set(reports) == {"kev", "misp-galaxy"}
    _assert_kev_and_misp_complete(db, kev_path, misp_path)


def test_concurrent_cli_imports(tmp_path: Path, kev_path: Path, misp_path: Path) -> None:
    cli = Path(sys.executable).parent / "threatscope"
    db = tmp_path / "cli.db"
    procs = [
        subprocess.Popen(
            [str(cli), "--db", str(db), "import", source, str(path), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        for source, path in (("kev", kev_path), ("misp-galaxy", misp_path))
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err.decode() for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    assert [r["source"] for r in reports] == ["kev", "misp-galaxy"]
    _assert_kev_and_misp_complete(db, kev_path, misp_path)


# -- export -----------------------------------------------------------------------------------


def test_export_filters_types_and_revoked(store: SQLiteStore, tmp_path: Path) -> None:
    objects = [
        _group(str(uuid.uuid4()), T0, "G1"),
        _group(str(uuid.uuid4()), T0, "G2", revoked=True),
        {
            "type": "malware",
            "spec_version": "2.1",
            "id": f"malware--{uuid.uuid4()}",
            "created": T0,
            "modified": T0,
            "name": "M",
            "is_family": False,
            "x_custom": {"n": 1.5, "list": [1, "two", None]},
        },
    ]
    _import(store, tmp_path, objects)

    everything = tmp_path / "all.json"
    assert export_bundle(store, everything, include_revoked=True) == len(objects)
    by_id = {o["id"]: o for o in _read_json(everything)["objects"]}
    # Each object as stored, naming the importer that brought it.
    assert by_id == {o["id"]: {**o, "x_threatscope_importer": "stix"} for o in objects}

    groups = tmp_path / "groups.json"
    assert export_bundle(store, groups, types=["intrusion-set"]) == 1
    assert [o["name"] for o in _read_json(groups)["objects"]] == ["G1"]

    with SQLiteStore(tmp_path / "again.db") as again:
        run_import(again, "stix", everything)
        assert again.stats()["objects"] == store.stats()["objects"]
        assert list(again.iter_objects(include_revoked=True)) == list(
            store.iter_objects(include_revoked=True)
        )
