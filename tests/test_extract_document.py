"""`threatscope extract`: entities resolved against a real knowledge base, the STIX bundle it
emits, and storing it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from conftest import new_location
from threatscope.cli import app
from threatscope.extract.entities import build_gazetteer, find_entities
from threatscope.sources.kev import vulnerability_id
from threatscope.store import open_store

REPORT = """# Brass Typhoon returns

In March 2025 the actor tracked as Brass Typhoon (also APT41, WICKED PANDA) compromised a
semiconductor manufacturer in Taiwan. The intrusion began with exploitation of CVE-2024-3400
on an internet-facing firewall. Operators then ran PowerShell (T1059.001) and deployed
ShadowPad and PlugX loaders.

Command and control used hxxps://update-check[.]example-cdn[.]net/api and 45.77.12[.]9.
The loader dropped C:\\ProgramData\\Intel\\svchost.exe with SHA-256
3b1f6e4d3c1f0c8e9a7b5d2e4f6a8c0b1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a.

Our agent on the host recorded one lotus-shaped icon; the one agent we trust is ours.
"""


def run(db: Path | str, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


@pytest.fixture(scope="module")
def kb(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    enterprise_path: Path,
) -> str:
    db = new_location(request, backend, tmp_path_factory.mktemp("extract"))
    assert run(db, "import", "attack", str(enterprise_path)).exit_code == 0
    assert run(db, "import", "misp-galaxy").exit_code == 0
    return db


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "brass-typhoon.md"
    path.write_text(REPORT, encoding="utf-8")
    return path


def extract(db: Path, *args: str) -> dict[str, Any]:
    result = run(db, "extract", *args, "--json")
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_entities_resolve_to_canonical_actors_and_software(kb: str, report_file: Path) -> None:
    summary = extract(kb, str(report_file))
    actors = summary["actors"]
    assert [a["name"] for a in actors] == ["APT41"]
    assert {m["text"] for m in actors[0]["mentions"]} == {"Brass Typhoon", "APT41", "WICKED PANDA"}
    assert "Brass Typhoon" in actors[0]["mentions"][0]["sentence"]
    malware = {m["name"]: m["id"] for m in summary["malware"]}
    assert {"ShadowPad", "PlugX"} <= set(malware)
    assert malware["ShadowPad"].startswith("malware--")  # ATT&CK's object, not a galaxy stub
    assert [c["id"] for c in summary["countries"]] == ["TW"]
    assert "semiconductors" in [s["id"] for s in summary["sectors"]]
    assert summary["cves"] == ["CVE-2024-3400"]
    techniques = {t["id"]: t for t in summary["techniques"]}
    assert techniques["T1059.001"]["name"] == "PowerShell"
    assert techniques["T1059.001"]["confidence"] == 1.0
    values = {(i["type"], i["value"]) for i in summary["iocs"]}
    assert ("domain", "update-check.example-cdn.net") in values
    assert ("ipv4", "45.77.12.9") in values
    assert ("sha256", "3b1f6e4d3c1f0c8e9a7b5d2e4f6a8c0b1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a") in values
    assert ("file-path", "C:\\ProgramData\\Intel\\svchost.exe") in values
    assert summary["countries"][0]["name"] == "Taiwan"


def test_common_words_are_not_taken_for_names(kb: str) -> None:
    with open_store(kb) as store:
        gazetteer = build_gazetteer(store)
    found = find_entities(gazetteer, "Our agent saw one lotus. One Agent was quiet on Monday.")
    assert found["malware"] == [] and found["tools"] == [] and found["actors"] == []
    found = find_entities(gazetteer, "The loader is Agent.BTZ, and Turla ran it in C too.")
    # "Turla" also names the Uroburos malware in the galaxies: both readings are reported.
    assert {m["name"] for m in found["malware"]} == {"Agent.btz", "Uroburos"}
    assert [a["name"] for a in found["actors"]] == ["Turla"]
    assert found["tools"] == []  # "in C" is not the INC tool
    # Places and nationalities are software only when the text says so.
    found = find_entities(gazetteer, "Turkish banks in Cuba were hit by the Cuba ransomware.")
    assert [m["name"] for m in found["malware"]] == ["Cuba"]
    assert [m["text"] for m in found["malware"][0]["mentions"]] == ["Cuba"]
    assert found["malware"][0]["mentions"][0]["start"] == 38


def test_bundle_imports_cleanly_and_references_kb_objects(
    kb: str, report_file: Path, tmp_path: Path
) -> None:
    bundle_path = tmp_path / "out.json"
    extract(kb, str(report_file), "--bundle", str(bundle_path))
    bundle = orjson.loads(bundle_path.read_bytes())
    by_type: dict[str, list[dict[str, Any]]] = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    report = by_type["report"][0]
    assert by_type["vulnerability"][0]["id"] == vulnerability_id("CVE-2024-3400")
    with open_store(kb) as store:
        powershell = next(
            o["id"]
            for o in store.iter_objects(["attack-pattern"])
            if o["external_references"][0].get("external_id") == "T1059.001"
        )
    assert powershell in report["object_refs"]
    assert {i["id"] for i in by_type["indicator"]} <= set(report["object_refs"])
    fresh = tmp_path / "fresh.db"
    result = run(fresh, "import", "stix", str(bundle_path), "--json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["added"] == len(bundle["objects"])


def test_store_keeps_provenance_and_is_idempotent(
    kb: str, report_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kb.db"
    first = extract(db, str(report_file), "--store")
    assert first["stored"]["added"] > 5
    again = extract(db, str(report_file), "--store")
    assert (again["stored"]["added"], again["stored"]["updated"]) == (0, 0)
    imports = orjson.loads(run(db, "imports", "--json").stdout)
    assert imports[-1]["source"] == "extract"
    assert imports[-1]["path"] == str(report_file.resolve())


def test_missing_file_exits_2_and_creates_no_database(tmp_path: Path) -> None:
    result = run(tmp_path / "kb.db", "extract", str(tmp_path / "nope.pdf"), "--store")
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    assert not (tmp_path / "kb.db").exists()
