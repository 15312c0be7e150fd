"""The `threatscope` command's contracts: JSON shapes, exit codes, one-line errors on stderr, and
bad input leaving the database file byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import stix2
from typer.testing import CliRunner, Result

from conftest import new_location
from threatscope.cli import app

THREATSCOPE = Path(sys.executable).parent / "threatscope"


def run(db: Path | str, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def ok_json(db: Path | str, *args: str) -> Any:
    result = run(db, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stderr_lines(text: str) -> list[str]:
    return text.splitlines()


# -- raw data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def attack_apt41_id(raw_attack: list[dict[str, Any]]) -> str:
    [found] = [
        o["id"]
        for o in raw_attack
        if o["type"] == "intrusion-set"
        and any(r.get("external_id") == "G0096" for r in o["external_references"])
    ]
    return found


# -- one Enterprise + MISP knowledge base per module, built through the CLI -------------------


@pytest.fixture(scope="module")
def kb(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    enterprise_path: Path,
    misp_path: Path,
) -> dict[str, Any]:
    db = new_location(request, backend, tmp_path_factory.mktemp("cli"))
    reports = {
        "attack": ok_json(db, "import", "attack", str(enterprise_path)),
        "misp-galaxy": ok_json(db, "import", "misp-galaxy", str(misp_path)),
    }
    return {"db": db, "reports": reports}


def test_import_json_reports_what_was_read_and_added(
    kb: dict[str, Any],
    raw_attack: list[dict[str, Any]],
    raw_galaxy: dict[str, Any],
    enterprise_path: Path,
    misp_path: Path,
) -> None:
    attack, misp = kb["reports"]["attack"], kb["reports"]["misp-galaxy"]
    unique_attack = len({o["id"] for o in raw_attack})
    values = len(raw_galaxy["values"])

    assert attack | {"import_id": None} == {
        "import_id": None,
        "source": "attack",
        "path": str(enterprise_path),
        "received": len(raw_attack),
        "added": unique_attack,
        "updated": 0,
        "unchanged": 0,
        "older": 0,
        "foreign": 0,
    }
    # Every galaxy value plus the MISP identity object.
    assert misp | {"import_id": None} == {
        "import_id": None,
        "source": "misp-galaxy",
        "path": str(misp_path),
        "received": values + 1,
        "added": values + 1,
        "updated": 0,
        "unchanged": 0,
        "older": 0,
        "foreign": 0,
    }
    assert misp["import_id"] > attack["import_id"]


def test_stats_json_counts_current_objects_per_type(
    kb: dict[str, Any], raw_attack: list[dict[str, Any]], raw_galaxy: dict[str, Any]
) -> None:
    live = [o for o in raw_attack if not o.get("revoked")]
    expected = Counter(o["type"] for o in live if o["type"] != "relationship")
    expected["intrusion-set"] += len(raw_galaxy["values"])
    expected["identity"] += 1  # the MISP galaxy's identity
    relationships = sum(1 for o in live if o["type"] == "relationship")

    stats = ok_json(kb["db"], "stats")

    assert stats["objects"] == dict(expected)
    assert stats["relationships"] == relationships == 20048
    assert sum(stats["actors_by_nexus"].values()) == stats["actors"]


def test_actor_show_json_contract(kb: dict[str, Any], attack_apt41_id: str) -> None:
    doc = ok_json(kb["db"], "actor", "show", "WICKED PANDA")

    assert {"id", "name", "nexus", "external_ids", "aliases", "motivations", "conflicts"} <= set(
        doc
    )
    assert doc["id"] == attack_apt41_id
    assert doc["name"] == "APT41"
    assert doc["nexus"] == "CN"
    assert doc["external_ids"] == ["G0096"]
    assert all(set(a) == {"alias", "sources"} for a in doc["aliases"])
    assert all(isinstance(a["alias"], str) and a["sources"] for a in doc["aliases"])
    assert {"alias": "Brass Typhoon", "sources": ["attack", "misp-galaxy"]} in doc["aliases"]
    assert isinstance(doc["motivations"], list)
    assert {c["type"] for c in doc["conflicts"]} == {"alias"}
    assert any("Winnti Group" in c["also_claimed_by"] for c in doc["conflicts"])


def test_actor_show_human_output_names_the_actor(kb: dict[str, Any], attack_apt41_id: str) -> None:
    result = run(kb["db"], "actor", "show", "g0096")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split() == ["APT41", attack_apt41_id]


def test_unknown_actor_exits_1_with_one_line_on_stderr(kb: dict[str, Any]) -> None:
    result = run(kb["db"], "actor", "show", "Nobody Panda Zzz", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert stderr_lines(result.stderr) == ["error: no actor named 'Nobody Panda Zzz'"]


def test_unknown_actor_in_a_real_process(kb: dict[str, Any]) -> None:
    done = subprocess.run(
        [str(THREATSCOPE), "--db", str(kb["db"]), "actor", "show", "Nobody Panda Zzz"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["error: no actor named 'Nobody Panda Zzz'"]


def test_actor_list_nexus_keeps_only_that_nexus(kb: dict[str, Any], attack_apt41_id: str) -> None:
    everyone = ok_json(kb["db"], "actor", "list")
    cn = ok_json(kb["db"], "actor", "list", "--nexus", "CN")

    assert attack_apt41_id in {a["id"] for a in cn}
    assert {a["nexus"] for a in cn} == {"CN"}
    assert [a["id"] for a in cn] == [a["id"] for a in everyone if a["nexus"] == "CN"]
    assert len(cn) < len(everyone)
    assert ok_json(kb["db"], "actor", "list", "--nexus", "cn") == cn
    assert set(cn[0]) == {"id", "name", "nexus", "external_ids", "aliases", "members", "conflicts"}


def test_export_stix_writes_only_the_requested_type(
    kb: dict[str, Any],
    raw_attack: list[dict[str, Any]],
    raw_galaxy: dict[str, Any],
    tmp_path: Path,
) -> None:
    target = tmp_path / "out" / "actors.json"
    target.parent.mkdir()
    expected_ids = {
        o["id"] for o in raw_attack if o["type"] == "intrusion-set" and not o.get("revoked")
    } | {f"intrusion-set--{v['uuid'].lower()}" for v in raw_galaxy["values"]}

    result = run(kb["db"], "export", "stix", "-o", str(target), "--type", "intrusion-set")

    assert result.exit_code == 0, result.stderr
    # A human message, which Rich may wrap at 80 columns: compare word by word.
    assert result.stderr.split() == ["wrote", str(len(expected_ids)), "objects", "to", str(target)]
    bundle = json.loads(target.read_bytes())
    assert bundle["type"] == "bundle"
    assert {o["type"] for o in bundle["objects"]} == {"intrusion-set"}
    assert [o["id"] for o in bundle["objects"]] == sorted(expected_ids)
    assert {o["spec_version"] for o in bundle["objects"]} == {"2.1"}
    assert [p.name for p in target.parent.iterdir()] == ["actors.json"]  # no .part left behind
    parsed = stix2.parse(bundle, allow_custom=True)  # a STIX 2.1 library accepts it
    assert len(parsed.objects) == len(expected_ids)


def test_export_into_a_missing_directory_is_a_clean_error(
    kb: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "no-such-dir" / "out.json"
    result = run(kb["db"], "export", "stix", "-o", str(target))
    assert result.exit_code == 2
    [line] = stderr_lines(result.stderr)
    assert line.startswith("error: ") and str(target.parent) in line


def test_import_misp_galaxy_without_path_uses_the_packaged_galaxy(db_path: Path) -> None:
    spec = importlib.util.find_spec("pymispgalaxies")
    assert spec is not None and spec.origin is not None
    packaged = Path(spec.origin).parent / "data/misp-galaxy/clusters/threat-actor.json"
    values = json.loads(packaged.read_bytes())["values"]

    report = ok_json(db_path, "import", "misp-galaxy")

    assert report["path"] == str(packaged)
    assert report["received"] == report["added"] == len(values) + 1
    stats = ok_json(db_path, "stats")
    assert stats["objects"] == {"identity": 1, "intrusion-set": len(values)}


def test_sources_json_lists_the_builtin_sources(tmp_path: Path) -> None:
    sources = ok_json(tmp_path / "unused.db", "sources")
    assert sorted(sources) == [
        "attack", "eurepoc", "kev", "misp-galaxy", "reports", "stix", "table"
    ]  # fmt: skip
    assert all(isinstance(summary, str) and summary for summary in sources.values())


# -- bad input: exit 2, one line naming file (and object) and reason, db unchanged -------------

IDENTITY = "identity--7e4d2c1a-0000-4000-8000-000000000001"
GOOD_SET = "intrusion-set--7e4d2c1a-0000-4000-8000-000000000002"
BAD_SET = "intrusion-set--7e4d2c1a-0000-4000-8000-000000000003"
OTHER_SET = "intrusion-set--7e4d2c1a-0000-4000-8000-000000000004"
T0 = "2024-03-01T12:00:00.000Z"


def _sdo(stix_type: str, ident: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": stix_type,
        "spec_version": "2.1",
        "id": ident,
        "created": T0,
        "modified": T0,
        "name": name,
        **extra,
    }


def _bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "bundle",
        "id": "bundle--7e4d2c1a-0000-4000-8000-0000000000ff",
        "objects": list(objects),
    }


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    """A closed database holding a few objects, imported through the CLI."""
    db = tmp_path / "small.db"
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            _bundle(
                _sdo("identity", IDENTITY, "Probe Org", identity_class="organization"),
                _sdo("intrusion-set", GOOD_SET, "Probe Bear", aliases=["Probe Bear", "PB"]),
            )
        )
    )
    report = ok_json(db, "import", "stix", str(good))
    assert report["added"] == 2
    return db


def _truncated(tmp_path: Path) -> tuple[list[str], Path, str]:
    path = tmp_path / "truncated.json"
    text = json.dumps(_bundle(_sdo("intrusion-set", OTHER_SET, "Other Bear")))
    path.write_text(text[: len(text) // 2])
    return ["import", "stix", str(path)], path, f"error: {path}: not valid JSON: "


def _one_bad_object(tmp_path: Path) -> tuple[list[str], Path, str]:
    path = tmp_path / "one-bad.json"
    bad = _sdo("intrusion-set", BAD_SET, "Bad Bear") | {"created": "yesterday"}
    path.write_text(
        json.dumps(
            _bundle(
                _sdo("intrusion-set", OTHER_SET, "Other Bear"),
                bad,
                _sdo(
                    "identity",
                    "identity--7e4d2c1a-0000-4000-8000-000000000005",
                    "X",
                    identity_class="individual",
                ),
            )
        )
    )
    return (
        ["import", "stix", str(path)],
        path,
        f"error: {path}: object 1 ({BAD_SET}): invalid or missing 'created': 'yesterday'",
    )


def _missing_file(tmp_path: Path) -> tuple[list[str], Path, str]:
    path = tmp_path / "absent.json"
    return ["import", "stix", str(path)], path, f"error: {path}: no such file or directory"


def _bad_kev_entry(tmp_path: Path) -> tuple[list[str], Path, str]:
    path = tmp_path / "kev.json"
    entry = {"cveID": "CVE-2024-3400", "dateAdded": "2024-04-12", "vendorProject": "Palo Alto"}
    path.write_text(
        json.dumps(
            {
                "catalogVersion": "2024.04.12",
                "dateReleased": "2024-04-12T16:00:00.0000Z",
                "vulnerabilities": [entry, entry | {"cveID": "CVE-24-1"}],
            }
        )
    )
    return (
        ["import", "kev", str(path)],
        path,
        f"error: {path}: vulnerability 1 (CVE-24-1): invalid 'cveID': 'CVE-24-1'",
    )


def _bad_misp_value(tmp_path: Path) -> tuple[list[str], Path, str]:
    path = tmp_path / "threat-actor.json"
    good = {"value": "Fine Bear", "uuid": "7e4d2c1a-0000-4000-8000-000000000010", "meta": {}}
    path.write_text(
        json.dumps(
            {
                "type": "threat-actor",
                "version": 3,
                "values": [good, {"value": "Broken Bear", "meta": {"country": "RU"}}],
            }
        )
    )
    return (
        ["import", "misp-galaxy", str(path)],
        path,
        f"error: {path}: value 1 (Broken Bear): invalid 'uuid': None",
    )


BAD_INPUTS = {
    "truncated-json": _truncated,
    "one-malformed-object": _one_bad_object,
    "missing-file": _missing_file,
    "bad-kev-entry": _bad_kev_entry,
    "bad-misp-value": _bad_misp_value,
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_and_leaves_db_unchanged(
    small_db: Path, tmp_path: Path, case: str
) -> None:
    args, path, expected = BAD_INPUTS[case](tmp_path)
    before = sha256(small_db)

    result = run(small_db, *args)

    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = stderr_lines(result.stderr)
    if case == "truncated-json":
        assert line.startswith(expected) and len(line) > len(expected)
    else:
        assert line == expected
    assert str(path) in line
    assert sha256(small_db) == before
    assert not small_db.with_name(small_db.name + "-wal").exists()  # nothing pending beside it
    assert ok_json(small_db, "stats")["objects"] == {"identity": 1, "intrusion-set": 1}


def test_bad_input_in_a_real_process(small_db: Path, tmp_path: Path) -> None:
    args, _, expected = _one_bad_object(tmp_path)
    before = sha256(small_db)

    done = subprocess.run(
        [str(THREATSCOPE), "--db", str(small_db), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [expected]
    assert sha256(small_db) == before


def test_object_with_non_list_external_references_is_bad_input(
    small_db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "bad-refs.json"
    path.write_text(
        json.dumps(_bundle(_sdo("intrusion-set", BAD_SET, "Refs Bear", external_references=5)))
    )
    before = sha256(small_db)

    result = run(small_db, "import", "stix", str(path))

    assert result.exit_code == 2
    [line] = stderr_lines(result.stderr)
    assert line.startswith(f"error: {path}: object 0 ({BAD_SET}): ")
    assert sha256(small_db) == before


def test_import_without_path_for_a_source_that_needs_one(small_db: Path) -> None:
    before = sha256(small_db)
    result = run(small_db, "import", "stix")
    assert result.exit_code == 2
    assert stderr_lines(result.stderr) == ["error: source 'stix' needs a PATH"]
    assert sha256(small_db) == before


def test_unknown_source_names_the_known_ones(small_db: Path, tmp_path: Path) -> None:
    result = run(small_db, "import", "nosuch", str(tmp_path))
    assert result.exit_code == 2
    assert stderr_lines(result.stderr) == [
        "error: unknown source 'nosuch'; known sources: attack, eurepoc, kev, misp-galaxy,"
        " reports, stix, table"
    ]
