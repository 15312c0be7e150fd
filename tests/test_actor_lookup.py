"""Which actor a name or identifier finds: the source that owns an identifier over sources that
cite it as an alias, a member's own name over an alias; and `actor list --nexus` in any spelling.

Expected values come from the raw files (read here with the standard library) or from the small
bundles written here, never from the code under test.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import shared_file
from threatscope.actors import find_actor
from threatscope.cli import app
from threatscope.extract.entities import build_gazetteer, find_entities
from threatscope.ingest import run_import
from threatscope.sources.misp_galaxy import packaged_galaxy_path
from threatscope.store import SQLiteStore

_GROUP_ID = re.compile(r"G[0-9]{4}")


def _attack_id(obj: dict[str, Any]) -> str:
    [found] = [
        ref["external_id"]
        for ref in obj.get("external_references", [])
        if ref.get("source_name") == "mitre-attack" and "external_id" in ref
    ]
    return found


def _member_ids(doc: dict[str, Any]) -> list[str]:
    return [m["id"] for m in doc["members"]]


def _cli(db: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", str(db), *args])


# -- ATT&CK Enterprise 18.1 + both MISP galaxies ----------------------------------------------


@pytest.fixture(scope="module")
def current_groups(raw_attack: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        o
        for o in raw_attack
        if o["type"] == "intrusion-set" and not o.get("revoked") and not o.get("x_mitre_deprecated")
    ]


@pytest.fixture(scope="module")
def full_db(
    tmp_path_factory: pytest.TempPathFactory, enterprise_path: Path, misp_path: Path
) -> Path:
    """ATT&CK, the galaxy shipped in pymispgalaxies, then the newer shared galaxy."""
    path = tmp_path_factory.mktemp("lookup") / "kb.db"
    with SQLiteStore(path) as kb:
        run_import(kb, "attack", enterprise_path)
        run_import(kb, "misp-galaxy", packaged_galaxy_path())
        run_import(kb, "misp-galaxy", misp_path)
    return path


@pytest.fixture(scope="module")
def full(full_db: Path) -> Iterator[SQLiteStore]:
    kb = SQLiteStore(full_db)
    yield kb
    kb.close()


@pytest.mark.slow
def test_every_attack_group_id_finds_the_group_that_owns_it(
    full: SQLiteStore, current_groups: list[dict[str, Any]]
) -> None:
    assert len(current_groups) == 172
    wrong = []
    for group in current_groups:
        doc = find_actor(full, _attack_id(group))
        if group["id"] not in _member_ids(doc):
            wrong.append((_attack_id(group), group["name"], doc["name"]))
    assert wrong == []


@pytest.fixture(scope="module")
def with_incidents(
    full_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SQLiteStore]:
    """`full_db` plus both EuRepoC exports, whose initiators cite ATT&CK ids too ("Andariel/…/
    G0138/…/G0032", "Bluenoroff/APT38/…/G0082/…/G0032")."""
    path = tmp_path_factory.mktemp("lookup-incidents") / "kb.db"
    shutil.copyfile(full_db, path)
    with SQLiteStore(path) as kb:
        for export in (
            "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv",
            "incidents/eurepoc-1.1/EuRepoC_Global_Database_1.1.csv",
        ):
            run_import(kb, "eurepoc", shared_file(export))
        yield kb


@pytest.mark.slow
def test_attack_group_ids_find_their_group_with_incident_initiators_citing_them(
    with_incidents: SQLiteStore, current_groups: list[dict[str, Any]]
) -> None:
    wrong = []
    for group in current_groups:
        doc = find_actor(with_incidents, _attack_id(group))
        if doc["id"] != group["id"]:
            wrong.append((_attack_id(group), group["name"], doc["name"]))
    assert wrong == []


@pytest.mark.slow
def test_every_attack_group_name_finds_that_group(
    full: SQLiteStore, current_groups: list[dict[str, Any]]
) -> None:
    wrong = []
    for group in current_groups:
        doc = find_actor(full, group["name"])
        if group["id"] not in _member_ids(doc):
            wrong.append((group["name"], doc["name"]))
    assert wrong == []


@pytest.mark.slow
def test_ids_misp_cites_for_another_group_go_to_the_owner_and_the_claim_stays_visible(
    full: SQLiteStore,
    current_groups: list[dict[str, Any]],
    raw_galaxy: dict[str, Any],
) -> None:
    owner = {_attack_id(g): g for g in current_groups}
    by_name = {g["name"].casefold(): g for g in current_groups}
    cited_elsewhere = {
        alias: value["value"]
        for value in raw_galaxy["values"]
        if value["value"].casefold() in by_name
        for alias in value.get("meta", {}).get("synonyms", [])
        if _GROUP_ID.fullmatch(alias)
        and alias in owner
        and owner[alias]["id"] != by_name[value["value"].casefold()]["id"]
    }
    # What the raw files say today: the six ids of the issue, and G0082 (APT38) that Lazarus
    # Group's cluster cites.
    assert cited_elsewhere == {
        "G0001": "APT17",
        "G0002": "DragonOK",
        "G0008": "FIN7",
        "G0009": "APT19",
        "G0013": "Naikon",
        "G0044": "APT41",
        "G0082": "Lazarus Group",
    }
    for attack_id, citing in cited_elsewhere.items():
        doc = find_actor(full, attack_id)
        assert doc["id"] == owner[attack_id]["id"], attack_id
        assert [o["name"] for o in doc["other_matches"]] == [citing]
        # The citing cluster stays with its namesake; both actors list the disputed id.
        assert {"type": "alias", "alias": attack_id, "also_claimed_by": [citing]} in doc[
            "conflicts"
        ]


@pytest.mark.slow
def test_no_actor_joins_two_attack_groups(
    full: SQLiteStore, current_groups: list[dict[str, Any]]
) -> None:
    attack_ids = {g["id"] for g in current_groups}
    per_actor = [[m for m in _member_ids(d) if m in attack_ids] for d in full.list_actors()]
    assert max(len(found) for found in per_actor) == 1
    assert sum(len(found) for found in per_actor) == len(attack_ids)


@pytest.mark.slow
def test_winnti_finds_winnti_group_and_names_apt41_as_another_match(
    full: SQLiteStore, current_groups: list[dict[str, Any]], raw_galaxy: dict[str, Any]
) -> None:
    [winnti] = [g for g in current_groups if g["name"] == "Winnti Group"]
    [misp_apt41] = [v for v in raw_galaxy["values"] if v["value"] == "APT41"]
    assert "Winnti" in misp_apt41["meta"]["synonyms"]  # the alias claim that used to win
    assert "Winnti" not in winnti.get("aliases", [])

    doc = find_actor(full, "Winnti")

    assert doc["id"] == winnti["id"]
    assert [o["name"] for o in doc["other_matches"]] == ["APT41"]


@pytest.mark.slow
def test_every_misp_uuid_finds_its_cluster(full: SQLiteStore, raw_galaxy: dict[str, Any]) -> None:
    wrong = []
    for value in raw_galaxy["values"]:
        doc = find_actor(full, value["uuid"].upper())
        if f"intrusion-set--{value['uuid'].lower()}" not in _member_ids(doc):
            wrong.append((value["uuid"], value["value"], doc["name"]))
    assert wrong == []


@pytest.mark.slow
def test_actor_show_g0044_names_winnti_group(
    full_db: Path, current_groups: list[dict[str, Any]]
) -> None:
    [winnti] = [g for g in current_groups if _attack_id(g) == "G0044"]
    result = _cli(full_db, "actor", "show", "G0044")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["Winnti", "Group", winnti["id"]]


@pytest.mark.slow
def test_extract_finds_every_attack_group_id_as_its_own_group(
    full: SQLiteStore, current_groups: list[dict[str, Any]]
) -> None:
    """A report naming G0044 names Winnti Group, though MISP lists G0044 among APT41's synonyms;
    ids no MISP cluster cites are found too."""
    text = " ".join(f"Then {_attack_id(g)} struck." for g in current_groups)
    actor_of = {m["id"]: d["id"] for d in full.list_actors() for m in d["members"]}

    found = find_entities(build_gazetteer(full), text)["actors"]

    mentioned = {(m["text"], a["id"]) for a in found for m in a["mentions"]}
    assert mentioned == {(_attack_id(g), actor_of[g["id"]]) for g in current_groups}


# -- actor list --nexus ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "spelling",
    ["CN", "cn", "CHN", "China", "china", "Chinese", "People's Republic of China",
     "People\u2019s Republic of China", "China-nexus", "china nexus", "China-based", "156"],
)  # fmt: skip
def test_actor_list_nexus_takes_any_spelling(full_db: Path, spelling: str) -> None:
    with SQLiteStore(full_db) as kb:
        expected = [d["id"] for d in kb.list_actors() if d["nexus"] == "CN"]
    result = _cli(full_db, "actor", "list", "--nexus", spelling, "--json")
    assert result.exit_code == 0, result.stderr
    assert [a["id"] for a in json.loads(result.stdout)] == expected
    assert len(expected) > 100


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spelling", "code"),
    [("North Korean", "KP"), ("DPRK", "KP"), ("Russian", "RU"), ("RUS", "RU"), ("Iranian", "IR"),
     ("Iran (Islamic Republic of)", "IR"), ("UNKNOWN", None)],
)  # fmt: skip
def test_actor_list_nexus_reads_demonyms_and_official_names(
    full_db: Path, spelling: str, code: str | None
) -> None:
    with SQLiteStore(full_db) as kb:
        expected = [d["id"] for d in kb.list_actors() if d["nexus"] == code]
    result = _cli(full_db, "actor", "list", "--nexus", spelling, "--json")
    assert result.exit_code == 0, result.stderr
    assert [a["id"] for a in json.loads(result.stdout)] == expected
    assert expected


@pytest.mark.slow
def test_actor_list_title_says_how_nexus_was_read(full_db: Path) -> None:
    with SQLiteStore(full_db) as kb:
        count = sum(1 for d in kb.list_actors() if d["nexus"] == "CN")
    china = _cli(full_db, "actor", "list", "--nexus", "Chinese")
    iceland = _cli(full_db, "actor", "list", "--nexus", "Iceland")
    assert china.stdout.splitlines()[0].strip() == f"{count} actors with nexus CN"
    assert iceland.exit_code == 0
    assert iceland.stdout.splitlines()[0].strip() == "0 actors with nexus IS"


@pytest.mark.parametrize("value", ["Narnia", "Korea", "", "nexus", "Asia"])
def test_actor_list_unknown_nexus_exits_2_with_one_line(db_path: Path, value: str) -> None:
    """Refused before the knowledge base is opened: nothing is read or created."""
    result = _cli(db_path, "actor", "list", "--nexus", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: --nexus {value!r} is not a country; accepted: a country name, ISO code or "
        "demonym (China, CN, CHN, Chinese, China-nexus), or 'unknown' for actors no source "
        "gives a nexus"
    ]
    assert not db_path.exists()


# -- small hand-made sources -------------------------------------------------------------------

MITRE = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
STAMP = "2024-01-01T00:00:00.000Z"


def _group(uuid: str, name: str, attack_id: str, aliases: list[str] | None = None) -> dict:
    return {
        "type": "intrusion-set",
        "spec_version": "2.1",
        "id": f"intrusion-set--{uuid}",
        "created": STAMP,
        "modified": STAMP,
        "created_by_ref": MITRE,
        "name": name,
        "aliases": aliases or [name],
        "external_references": [{"source_name": "mitre-attack", "external_id": attack_id}],
    }


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _bundle(path: Path, objects: list[dict[str, Any]]) -> Path:
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": MITRE,
        "created": STAMP,
        "modified": STAMP,
        "name": "The MITRE Corporation",
        "identity_class": "organization",
    }
    bundle_id = "bundle--00000000-0000-4000-8000-000000000001"
    return _write(path, {"type": "bundle", "id": bundle_id, "objects": [identity, *objects]})


def _galaxy(path: Path, values: list[dict[str, Any]]) -> Path:
    uuid = "7cdff317-a673-4474-84ec-4f1754947823"
    doc = {"type": "threat-actor", "name": "Threat Actor", "uuid": uuid, "version": 1}
    return _write(path, {**doc, "values": values})


ALPHA = "0a000000-0000-4000-8000-000000000001"
BETA = "0b000000-0000-4000-8000-000000000002"
GAMMA = "0c000000-0000-4000-8000-000000000003"


def test_a_cluster_citing_two_attack_ids_joins_neither_group_to_the_other(
    store: SQLiteStore, tmp_path: Path
) -> None:
    run_import(
        store,
        "attack",
        _bundle(
            tmp_path / "attack.json",
            [_group(ALPHA, "Alpha Group", "G9001"), _group(BETA, "Beta", "G9002")],
        ),
    )
    galaxy = [{"value": "Gamma", "uuid": GAMMA, "meta": {"synonyms": ["G9001", "G9002"]}}]
    run_import(store, "misp-galaxy", _galaxy(tmp_path / "galaxy.json", galaxy))

    alpha = find_actor(store, "G9001")
    beta = find_actor(store, "G9002")

    assert alpha["id"] == f"intrusion-set--{ALPHA}"
    assert beta["id"] == f"intrusion-set--{BETA}"
    gamma = f"intrusion-set--{GAMMA}"
    # Gamma joins one of them (the tie goes to the lower id), never both.
    assert _member_ids(alpha) == [alpha["id"], gamma]
    assert _member_ids(beta) == [beta["id"]]
    assert beta["other_matches"] == [{"id": alpha["id"], "name": "Alpha Group"}]
    assert {"type": "alias", "alias": "G9002", "also_claimed_by": ["Beta"]} in alpha["conflicts"]
    assert {"type": "alias", "alias": "G9002", "also_claimed_by": ["Alpha Group"]} in beta[
        "conflicts"
    ]


KESTREL = "0d000000-0000-4000-8000-000000000004"
FALCON = "0e000000-0000-4000-8000-000000000005"
BETA_MISP = "0f000000-0000-4000-8000-000000000006"
HAWK = "1a000000-0000-4000-8000-000000000007"


@pytest.fixture
def named(store: SQLiteStore, tmp_path: Path) -> SQLiteStore:
    """ATT&CK's Kestrel Team (G9003) and Beta, which lists Falcon among its aliases; MISP's
    Falcon (citing G9003, so it joins Kestrel Team) and Beta; MISP's Hawk, aka Kestrel."""
    run_import(
        store,
        "attack",
        _bundle(
            tmp_path / "attack.json",
            [
                _group(KESTREL, "Kestrel Team", "G9003"),
                _group(BETA, "Beta", "G9002", ["Beta", "Falcon"]),
            ],
        ),
    )
    galaxy = [
        {"value": "Falcon", "uuid": FALCON, "meta": {"synonyms": ["G9003"]}},
        {"value": "Beta", "uuid": BETA_MISP},
        {"value": "Hawk", "uuid": HAWK, "meta": {"synonyms": ["Kestrel"]}},
    ]
    run_import(store, "misp-galaxy", _galaxy(tmp_path / "galaxy.json", galaxy))
    return store


def test_a_members_own_name_wins_over_an_alias(named: SQLiteStore) -> None:
    kestrel, beta = f"intrusion-set--{KESTREL}", f"intrusion-set--{BETA}"
    assert _member_ids(find_actor(named, kestrel)) == [kestrel, f"intrusion-set--{FALCON}"]
    assert _member_ids(find_actor(named, beta)) == [beta, f"intrusion-set--{BETA_MISP}"]

    doc = find_actor(named, "falcon")

    assert doc["id"] == kestrel
    assert doc["other_matches"] == [{"id": beta, "name": "Beta"}]


def test_a_name_without_its_generic_last_word_wins_over_an_alias(named: SQLiteStore) -> None:
    doc = find_actor(named, "Kestrel")

    assert doc["id"] == f"intrusion-set--{KESTREL}"
    assert doc["other_matches"] == [{"id": f"intrusion-set--{HAWK}", "name": "Hawk"}]
