"""Actor resolution over real ATT&CK Enterprise + MISP galaxy data, and small hand-made galaxies.

Expected values come from the raw files (read here with the standard library), never from the
code under test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threatscope.actors import find_actor, join_member, split_member
from threatscope.errors import NotFoundError
from threatscope.ingest import run_import
from threatscope.store import SQLiteStore

ATTACK = "attack"
MISP = "misp-galaxy"


# -- raw data, read independently ------------------------------------------------------------


def _norm(name: str) -> str:
    """Test-local spelling-insensitive key: case, accents, spaces and punctuation ignored."""
    folded = unicodedata.normalize("NFKD", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _attack_ids(obj: dict[str, Any]) -> list[str]:
    return sorted(
        ref["external_id"]
        for ref in obj.get("external_references", [])
        if ref.get("source_name") == "mitre-attack" and "external_id" in ref
    )


def _attack_names(obj: dict[str, Any]) -> list[str]:
    return [obj["name"], *obj.get("aliases", [])]


def _misp_names(value: dict[str, Any]) -> list[str]:
    return [value["value"], *value.get("meta", {}).get("synonyms", [])]


def _attack_group(raw_attack: list[dict[str, Any]], group_id: str) -> dict[str, Any]:
    [group] = [
        o
        for o in raw_attack
        if o["type"] == "intrusion-set" and not o.get("revoked") and group_id in _attack_ids(o)
    ]
    return group


@pytest.fixture(scope="module")
def attack_apt41(raw_attack: list[dict[str, Any]]) -> dict[str, Any]:
    return _attack_group(raw_attack, "G0096")


@pytest.fixture(scope="module")
def attack_winnti(raw_attack: list[dict[str, Any]]) -> dict[str, Any]:
    group = _attack_group(raw_attack, "G0044")
    assert group["name"] == "Winnti Group"
    return group


@pytest.fixture(scope="module")
def misp_apt41(raw_galaxy: dict[str, Any]) -> dict[str, Any]:
    [value] = [v for v in raw_galaxy["values"] if v["value"] == "APT41"]
    return value


def _misp_id(value: dict[str, Any]) -> str:
    return f"intrusion-set--{value['uuid'].lower()}"


# -- databases: built once per module, copied for tests that change them -----------------------


_BUILD = """
import sys
from pathlib import Path
from threatscope.ingest import run_import
from threatscope.store import SQLiteStore
db, attack, misp = sys.argv[1:]
with SQLiteStore(db) as kb:
    run_import(kb, "attack", Path(attack))
    run_import(kb, "misp-galaxy", Path(misp))
"""


@pytest.fixture(scope="module")
def other_process_build(
    tmp_path_factory: pytest.TempPathFactory, enterprise_path: Path, misp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """The same build as `merged_db`, started first in another process with another hash seed so
    that it runs while this process builds its own (the determinism test compares the two)."""
    path = tmp_path_factory.mktemp("other-process") / "kb.db"
    ours = os.environ.get("PYTHONHASHSEED", "")
    seed = str(int(ours) + 1) if ours.isdigit() else "12345"
    process = subprocess.Popen(
        [sys.executable, "-c", _BUILD, str(path), str(enterprise_path), str(misp_path)],
        env={**os.environ, "PYTHONHASHSEED": seed},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield process, path
    if process.poll() is None:
        process.kill()
    process.communicate()


@pytest.fixture(scope="module")
def attack_db(
    tmp_path_factory: pytest.TempPathFactory,
    enterprise_path: Path,
    other_process_build: tuple[subprocess.Popen[bytes], Path],
) -> Path:
    # Requesting `other_process_build` starts the other build before this one.
    path = tmp_path_factory.mktemp("attack-only") / "kb.db"
    with SQLiteStore(path) as kb:
        run_import(kb, ATTACK, enterprise_path)
    return path


@pytest.fixture(scope="module")
def merged_db(tmp_path_factory: pytest.TempPathFactory, attack_db: Path, misp_path: Path) -> Path:
    """ATT&CK Enterprise, then the shared MISP galaxy (a copy of `attack_db` plus one import)."""
    path = tmp_path_factory.mktemp("merged") / "kb.db"
    shutil.copyfile(attack_db, path)
    with SQLiteStore(path) as kb:
        run_import(kb, MISP, misp_path)
    return path


@pytest.fixture(scope="module")
def merged(merged_db: Path) -> Iterator[SQLiteStore]:
    kb = SQLiteStore(merged_db)
    yield kb
    kb.close()


@pytest.fixture
def merged_copy(merged_db: Path, tmp_path: Path) -> Iterator[SQLiteStore]:
    path = tmp_path / "copy.db"
    shutil.copyfile(merged_db, path)
    kb = SQLiteStore(path)
    yield kb
    kb.close()


@pytest.fixture(scope="module")
def pre_merge_apt41(attack_db: Path, attack_apt41: dict[str, Any]) -> dict[str, Any]:
    with SQLiteStore(attack_db) as kb:
        return find_actor(kb, attack_apt41["id"])


# -- lookup and the merged document -----------------------------------------------------------


@pytest.mark.parametrize("query", ["WICKED PANDA", "Brass Typhoon", "apt 41", "G0096", "BARIUM"])
def test_every_apt41_name_finds_the_attack_actor(
    merged: SQLiteStore, attack_apt41: dict[str, Any], query: str
) -> None:
    doc = find_actor(merged, query)
    assert doc["id"] == attack_apt41["id"]
    assert doc["name"] == attack_apt41["name"] == "APT41"
    assert "other_matches" not in doc


def test_misp_object_id_finds_the_merged_actor(
    merged: SQLiteStore, attack_apt41: dict[str, Any], misp_apt41: dict[str, Any]
) -> None:
    assert find_actor(merged, _misp_id(misp_apt41))["id"] == attack_apt41["id"]


def test_unknown_actor_raises_not_found(merged: SQLiteStore) -> None:
    with pytest.raises(NotFoundError, match="no actor named 'Nobody Panda Zzz'"):
        find_actor(merged, "Nobody Panda Zzz")


def test_apt41_document_merges_attack_and_misp(
    merged: SQLiteStore, attack_apt41: dict[str, Any], misp_apt41: dict[str, Any]
) -> None:
    doc = find_actor(merged, "WICKED PANDA")

    assert doc["nexus"] == "CN"
    assert misp_apt41["meta"]["country"] == "CN"  # the raw claim the nexus comes from
    # The anchor is the ATT&CK object, so its ATT&CK ids (not MISP's G0044 synonym) are kept.
    assert doc["external_ids"] == _attack_ids(attack_apt41) == ["G0096"]
    assert {"alias": "Brass Typhoon", "sources": [ATTACK, MISP]} in doc["aliases"]
    assert [(m["id"], m["source"], m["name"]) for m in doc["members"]] == [
        (attack_apt41["id"], ATTACK, attack_apt41["name"]),
        (_misp_id(misp_apt41), MISP, misp_apt41["value"]),
    ]


def test_apt41_aliases_carry_the_sources_asserting_them(
    merged: SQLiteStore, attack_apt41: dict[str, Any], misp_apt41: dict[str, Any]
) -> None:
    expected: dict[str, set[str]] = {}
    for name in _attack_names(attack_apt41):
        expected.setdefault(_norm(name), set()).add(ATTACK)
    for name in _misp_names(misp_apt41):
        expected.setdefault(_norm(name), set()).add(MISP)

    aliases = find_actor(merged, "APT41")["aliases"]

    assert all(set(a) == {"alias", "sources"} for a in aliases)
    assert {_norm(a["alias"]): set(a["sources"]) for a in aliases} == expected
    assert len(aliases) == len(expected)  # one entry per spelling-insensitive name


def test_alias_claimed_by_two_actors_is_a_conflict_on_both(
    merged: SQLiteStore,
    attack_apt41: dict[str, Any],
    misp_apt41: dict[str, Any],
    attack_winnti: dict[str, Any],
) -> None:
    winnti_claims = {_norm(n) for n in [*_attack_names(attack_winnti), *_attack_ids(attack_winnti)]}
    apt41_claims = {
        _norm(n)
        for n in [
            *_attack_names(attack_apt41),
            *_attack_ids(attack_apt41),
            *_misp_names(misp_apt41),
        ]
    }
    shared = winnti_claims & apt41_claims
    assert shared == {"blackfly", "g0044"}  # what the raw files say today

    apt41 = find_actor(merged, attack_apt41["id"])
    winnti = find_actor(merged, attack_winnti["id"])
    assert [m["id"] for m in winnti["members"]] == [attack_winnti["id"]]

    def claimed_with(doc: dict[str, Any], other: str) -> set[str]:
        return {
            _norm(c["alias"])
            for c in doc["conflicts"]
            if c["type"] == "alias" and other in c["also_claimed_by"]
        }

    assert claimed_with(apt41, "Winnti Group") == shared
    assert claimed_with(winnti, "APT41") == shared


def test_no_actor_holds_two_objects_of_one_source(merged: SQLiteStore) -> None:
    docs = merged.list_actors()
    assert docs
    doubled = [
        (d["name"], source)
        for d in docs
        for source, count in Counter(m["source"] for m in d["members"]).items()
        if count > 1
    ]
    assert doubled == []


def test_every_object_is_in_exactly_one_actor(
    merged: SQLiteStore, raw_attack: list[dict[str, Any]], raw_galaxy: dict[str, Any]
) -> None:
    expected = [
        o["id"] for o in raw_attack if o["type"] == "intrusion-set" and not o.get("revoked")
    ] + [_misp_id(v) for v in raw_galaxy["values"]]
    members = [m["id"] for d in merged.list_actors() for m in d["members"]]
    assert sorted(members) == sorted(expected)


# -- hand-made galaxies ----------------------------------------------------------------------

AMBER = "0a0a0a0a-0000-4000-8000-00000000000a"
COBALT = "0b0b0b0b-0000-4000-8000-00000000000b"
DUSK = "0c0c0c0c-0000-4000-8000-00000000000c"


def _write_galaxy(path: Path, values: list[dict[str, Any]], version: int = 7) -> Path:
    doc = {
        "type": "threat-actor",
        "name": "Threat Actor",
        "uuid": "7cdff317-a673-4474-84ec-4f1754947823",
        "version": version,
        "values": values,
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def handmade(store: SQLiteStore, tmp_path: Path) -> SQLiteStore:
    galaxy = _write_galaxy(
        tmp_path / "threat-actor.json",
        [
            {
                "value": "Amber Bear",
                "uuid": AMBER,
                "meta": {"country": "CN", "cfr-suspected-state-sponsor": "Russian Federation"},
            },
            {"value": "Cobalt Kitten", "uuid": COBALT, "meta": {"synonyms": ["Shared Name", "CK"]}},
            {"value": "Dusk Kitten", "uuid": DUSK, "meta": {"synonyms": ["shared-name"]}},
        ],
    )
    run_import(store, MISP, galaxy)
    return store


def test_disagreeing_nexus_claims_are_a_nexus_conflict(handmade: SQLiteStore) -> None:
    doc = find_actor(handmade, "Amber Bear")
    object_id = f"intrusion-set--{AMBER}"

    assert doc["id"] == object_id
    assert doc["nexus"] is None  # one vote each: no nexus wins
    assert doc["conflicts"] == [
        {
            "type": "nexus",
            "claims": [
                {"nexus": "CN", "basis": "country", "source": MISP, "object": object_id},
                {
                    "nexus": "RU",
                    "basis": "cfr-suspected-state-sponsor",
                    "source": MISP,
                    "object": object_id,
                },
            ],
        }
    ]


def test_values_of_one_source_sharing_a_synonym_stay_two_actors(handmade: SQLiteStore) -> None:
    cobalt_id, dusk_id = f"intrusion-set--{COBALT}", f"intrusion-set--{DUSK}"
    cobalt = find_actor(handmade, cobalt_id)
    dusk = find_actor(handmade, dusk_id)

    assert [m["id"] for m in cobalt["members"]] == [cobalt_id]
    assert [m["id"] for m in dusk["members"]] == [dusk_id]
    assert cobalt["conflicts"] == [
        {"type": "alias", "alias": "Shared Name", "also_claimed_by": ["Dusk Kitten"]}
    ]
    assert dusk["conflicts"] == [
        {"type": "alias", "alias": "shared-name", "also_claimed_by": ["Cobalt Kitten"]}
    ]
    assert len(handmade.list_actors()) == 3

    either = find_actor(handmade, "SHARED NAME")
    others = [o["id"] for o in either["other_matches"]]
    assert sorted([either["id"], *others]) == sorted([cobalt_id, dusk_id])


# -- split and join --------------------------------------------------------------------------

SNAPSHOT_KEYS = ("id", "name", "aliases", "external_ids", "members")


def _part(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: doc[key] for key in SNAPSHOT_KEYS}


def _assert_split(
    kb: SQLiteStore,
    pre_merge: dict[str, Any],
    attack_apt41: dict[str, Any],
    misp_apt41: dict[str, Any],
) -> None:
    assert _part(find_actor(kb, attack_apt41["id"])) == _part(pre_merge)
    alone = find_actor(kb, _misp_id(misp_apt41))
    assert alone["id"] == _misp_id(misp_apt41)
    assert alone["name"] == "APT41"
    assert alone["nexus"] == "CN"
    assert [(m["id"], m["source"], m.get("split_from")) for m in alone["members"]] == [
        (_misp_id(misp_apt41), MISP, attack_apt41["id"])
    ]


def test_pre_merge_snapshot_is_attack_only(
    pre_merge_apt41: dict[str, Any], attack_apt41: dict[str, Any]
) -> None:
    assert [m["id"] for m in pre_merge_apt41["members"]] == [attack_apt41["id"]]
    assert {a["alias"] for a in pre_merge_apt41["aliases"]} == set(_attack_names(attack_apt41))


def test_split_restores_the_pre_merge_actor(
    merged_copy: SQLiteStore,
    pre_merge_apt41: dict[str, Any],
    attack_apt41: dict[str, Any],
    misp_apt41: dict[str, Any],
) -> None:
    assert len(find_actor(merged_copy, attack_apt41["id"])["members"]) == 2

    moved = split_member(merged_copy, "APT41", MISP)

    assert moved["id"] == _misp_id(misp_apt41)
    assert moved["source"] == MISP
    _assert_split(merged_copy, pre_merge_apt41, attack_apt41, misp_apt41)


def test_split_survives_importing_a_newer_galaxy(
    merged_copy: SQLiteStore,
    pre_merge_apt41: dict[str, Any],
    attack_apt41: dict[str, Any],
    misp_apt41: dict[str, Any],
    raw_galaxy: dict[str, Any],
    tmp_path: Path,
) -> None:
    split_member(merged_copy, "APT41", MISP)
    newer = _write_galaxy(
        tmp_path / "newer-threat-actor.json", raw_galaxy["values"], raw_galaxy["version"] + 1
    )

    report = run_import(merged_copy, MISP, newer)

    assert report.updated == len(raw_galaxy["values"])  # every value changed: actors re-resolved
    _assert_split(merged_copy, pre_merge_apt41, attack_apt41, misp_apt41)


def test_join_merges_a_split_member_again(
    merged_copy: SQLiteStore,
    merged: SQLiteStore,
    attack_apt41: dict[str, Any],
    misp_apt41: dict[str, Any],
) -> None:
    before = find_actor(merged, attack_apt41["id"])
    split_member(merged_copy, "APT41", MISP)

    join_member(merged_copy, _misp_id(misp_apt41))

    assert find_actor(merged_copy, _misp_id(misp_apt41)) == before
    assert find_actor(merged_copy, attack_apt41["id"]) == before
    with pytest.raises(NotFoundError, match="no split recorded"):
        join_member(merged_copy, _misp_id(misp_apt41))


# -- determinism -----------------------------------------------------------------------------


def test_resolution_is_deterministic_across_processes(
    merged: SQLiteStore,
    other_process_build: tuple[subprocess.Popen[bytes], Path],
    attack_apt41: dict[str, Any],
) -> None:
    """Two fresh dbs built the same way, in processes with different hash seeds, hold the same
    actors: same ids, names, aliases, members, evidence and conflicts."""
    process, other_db = other_process_build
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode()
    with SQLiteStore(other_db) as kb:
        other = kb.list_actors()
    here = merged.list_actors()

    assert attack_apt41["id"] in {d["id"] for d in here}
    assert len(other) == len(here)
    assert other == here
