"""Importers on the real shared data: ATT&CK, the MISP galaxy, CISA KEV, and the registry.

Expected counts and values are read from the raw files here with the standard `json` module.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import shared_file
from threatscope.errors import ConfigError, InputError
from threatscope.ingest import load_source
from threatscope.sources import all_sources, get_source
from threatscope.sources.attack import load_attack
from threatscope.sources.kev import load_kev, vulnerability_id
from threatscope.sources.misp_galaxy import galaxy_to_stix, load_misp_galaxy, packaged_galaxy_path
from threatscope.sources.stix_bundle import load_bundles
from threatscope.stix import validate_object

# 2.0 -> 2.1 adds exactly these; every property the raw object had must come through unchanged.
UPGRADE_KEYS = {"spec_version", "malware_types", "tool_types", "is_family"}


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# -- ATT&CK ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def enterprise_raw(enterprise_path: Path) -> dict[str, Any]:
    return _read_json(enterprise_path)


@pytest.fixture(scope="module")
def enterprise_loaded(enterprise_path: Path) -> list[dict[str, Any]]:
    return load_attack(enterprise_path)


def test_attack_enterprise_returns_every_raw_object(
    enterprise_raw: dict[str, Any], enterprise_loaded: list[dict[str, Any]]
) -> None:
    raw = enterprise_raw["objects"]
    assert len(enterprise_loaded) == len(raw)
    assert [o["id"] for o in enterprise_loaded] == [o["id"] for o in raw]
    assert Counter(o["type"] for o in enterprise_loaded) == Counter(o["type"] for o in raw)


def test_attack_enterprise_is_upgraded_to_2_1(
    enterprise_raw: dict[str, Any], enterprise_loaded: list[dict[str, Any]]
) -> None:
    # the shared Enterprise file is a 2.0 bundle: spec_version sits on the bundle only
    assert enterprise_raw["spec_version"] == "2.0"
    assert not any("spec_version" in o for o in enterprise_raw["objects"])
    assert {o["spec_version"] for o in enterprise_loaded} == {"2.1"}
    assert all(validate_object(o) is None for o in enterprise_loaded)


def test_attack_enterprise_keeps_every_property_verbatim(
    enterprise_raw: dict[str, Any], enterprise_loaded: list[dict[str, Any]]
) -> None:
    raw_objects = enterprise_raw["objects"]
    projected = [
        {key: loaded[key] for key in raw}
        for raw, loaded in zip(raw_objects, enterprise_loaded, strict=True)
    ]
    assert projected == raw_objects
    assert all(
        set(loaded) - set(raw) <= UPGRADE_KEYS
        for raw, loaded in zip(raw_objects, enterprise_loaded, strict=True)
    )
    # custom properties byte for byte (== alone would not tell 1 from 1.0 or True)
    custom = [{k: v for k, v in o.items() if k.startswith("x_")} for o in raw_objects]
    assert sum(len(c) for c in custom) > 0
    assert _dump(
        [{k: o[k] for k in c} for c, o in zip(custom, enterprise_loaded, strict=True)]
    ) == _dump(custom)


def test_attack_enterprise_labels_become_typed_vocabularies(
    enterprise_raw: dict[str, Any], enterprise_loaded: list[dict[str, Any]]
) -> None:
    raw_by_id = {o["id"]: o for o in enterprise_raw["objects"]}
    malware = [o for o in enterprise_loaded if o["type"] == "malware"]
    tools = [o for o in enterprise_loaded if o["type"] == "tool"]
    assert len(malware) == sum(1 for o in raw_by_id.values() if o["type"] == "malware")
    assert len(tools) == sum(1 for o in raw_by_id.values() if o["type"] == "tool")
    for obj in malware:
        assert obj["malware_types"] == raw_by_id[obj["id"]]["labels"]
        assert obj["is_family"] is True
    for obj in tools:
        assert obj["tool_types"] == raw_by_id[obj["id"]]["labels"]


def test_attack_ics_2_1_bundle_passes_through_unchanged(ics_path: Path) -> None:
    raw = _read_json(ics_path)["objects"]
    assert {o.get("spec_version") for o in raw} == {"2.1"}

    loaded = load_attack(ics_path)

    assert len(loaded) == len(raw)
    assert loaded == raw


def test_attack_accepts_a_directory_of_bundles(tmp_path: Path) -> None:
    def matrix(n: int) -> dict[str, Any]:
        return {
            "type": "x-mitre-matrix",
            "spec_version": "2.1",
            "id": f"x-mitre-matrix--{uuid.uuid4()}",
            "created": "2020-01-01T00:00:00.000Z",
            "modified": "2020-01-01T00:00:00.000Z",
            "name": f"Matrix {n}",
        }

    (tmp_path / "sub").mkdir()
    first = [matrix(1), matrix(2)]
    second = [matrix(3)]
    _write(tmp_path / "a.json", {"type": "bundle", "objects": first})
    _write(tmp_path / "sub" / "b.json", {"type": "bundle", "objects": second})
    (tmp_path / "notes.txt").write_text("not a bundle")

    loaded = load_attack(tmp_path)

    assert [o["name"] for o in loaded] == ["Matrix 1", "Matrix 2", "Matrix 3"]


def test_attack_rejects_a_non_attack_bundle(tmp_path: Path) -> None:
    objects = [
        {
            "type": "intrusion-set",
            "spec_version": "2.1",
            "id": f"intrusion-set--{uuid.uuid4()}",
            "created": "2020-01-01T00:00:00.000Z",
            "modified": "2020-01-01T00:00:00.000Z",
            "name": "Someone Else's Group",
            "external_references": [{"source_name": "vendor-x", "external_id": "G0096"}],
        }
    ]
    path = _write(tmp_path / "other.json", {"type": "bundle", "objects": objects})

    with pytest.raises(InputError) as info:
        load_attack(path)

    assert info.value.file == str(path)
    assert "not an ATT&CK bundle" in str(info.value)
    # the generic STIX importer takes the same file
    assert load_bundles(path) == objects


def test_attack_rejects_the_kev_feed(kev_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_attack(kev_path)
    assert info.value.file == str(kev_path)


def test_stix_source_rejects_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"holds no \.json bundle"):
        load_bundles(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        load_bundles(tmp_path / "missing")


# -- MISP galaxy -------------------------------------------------------------------------------

MISP_PATHS = ["packaged", "shared"]


@pytest.fixture(params=MISP_PATHS)
def galaxy_path(request: pytest.FixtureRequest) -> Path:
    if request.param == "packaged":
        return packaged_galaxy_path()
    return shared_file("misp-galaxy/threat-actor.json")


def _stripped(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def test_misp_galaxy_one_intrusion_set_per_value(galaxy_path: Path) -> None:
    raw = _read_json(galaxy_path)
    values = raw["values"]

    objects = load_misp_galaxy(galaxy_path)

    assert len(objects) == len(values) + 1
    types = Counter(o["type"] for o in objects)
    assert types == {"identity": 1, "intrusion-set": len(values)}
    identity = next(o for o in objects if o["type"] == "identity")
    sets = [o for o in objects if o["type"] == "intrusion-set"]
    assert [o["id"] for o in sets] == [f"intrusion-set--{v['uuid'].lower()}" for v in values]
    assert [o["name"] for o in sets] == [v["value"].strip() for v in values]
    # the galaxy version is the clock: epoch + version seconds
    stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=raw["version"])
    for obj in sets:
        assert obj["spec_version"] == "2.1"
        assert obj["created_by_ref"] == identity["id"]
        assert datetime.fromisoformat(obj["modified"]) == stamp
        assert validate_object(obj) is None
    assert validate_object(identity) is None


def test_misp_galaxy_synonyms_become_aliases(galaxy_path: Path) -> None:
    values = _read_json(galaxy_path)["values"]
    objects = load_misp_galaxy(galaxy_path)
    sets = [o for o in objects if o["type"] == "intrusion-set"]
    with_synonyms = 0
    for value, obj in zip(values, sets, strict=True):
        aliases = [a.strip() for a in obj["aliases"]]
        assert aliases[0] == value["value"].strip()
        synonyms = _stripped((value.get("meta") or {}).get("synonyms"))
        with_synonyms += bool(synonyms)
        assert set(synonyms) <= set(aliases), value["value"]
    assert with_synonyms > 0


def test_misp_galaxy_keeps_meta_verbatim(galaxy_path: Path) -> None:
    values = _read_json(galaxy_path)["values"]
    sets = [o for o in load_misp_galaxy(galaxy_path) if o["type"] == "intrusion-set"]
    for value, obj in zip(values, sets, strict=True):
        assert _dump(obj["x_misp_galaxy"]["meta"]) == _dump(value.get("meta") or {})


def test_misp_galaxy_apt41_nexus_from_country_and_state_sponsor(galaxy_path: Path) -> None:
    values = _read_json(galaxy_path)["values"]
    raw = next(v for v in values if v["value"] == "APT41")
    # the raw entry states China both ways
    assert raw["meta"]["country"] == "CN"
    assert raw["meta"]["cfr-suspected-state-sponsor"] == "People's Republic of China"

    objects = load_misp_galaxy(galaxy_path)
    apt41 = next(o for o in objects if o["id"] == f"intrusion-set--{raw['uuid'].lower()}")

    claims = {(c["nexus"], c["basis"]) for c in apt41["x_threatscope_nexus_claims"]}
    assert claims == {("CN", "country"), ("CN", "cfr-suspected-state-sponsor")}
    assert {"G0096", "Winnti", "BARIUM", "Double Dragon"} <= set(apt41["aliases"])


def test_misp_default_path_is_the_packaged_galaxy() -> None:
    path, objects = load_source("misp-galaxy", None)
    assert path == packaged_galaxy_path()
    assert len(objects) == len(_read_json(path)["values"]) + 1


def _galaxy(values: list[Any], version: Any = 7) -> dict[str, Any]:
    return {"type": "threat-actor", "version": version, "values": values}


def _actor(name: str) -> dict[str, Any]:
    return {"value": name, "uuid": str(uuid.uuid4()), "meta": {"synonyms": [name + " Team"]}}


@pytest.mark.parametrize(
    ("bad", "where", "reason"),
    [
        ({"value": "Bad Uuid", "uuid": "1234"}, "value 2 (Bad Uuid)", "invalid 'uuid'"),
        ({"value": "No Uuid"}, "value 2 (No Uuid)", "invalid 'uuid'"),
        (
            {"value": "Short", "uuid": "9c124874-042d-48cd-b72b-ccdc51ecbbd"},
            "value 2 (Short)",
            "invalid 'uuid'",
        ),
        ({"uuid": "9c124874-042d-48cd-b72b-ccdc51ecbbd6"}, "value 2", "missing 'value'"),
        (
            {"value": "   ", "uuid": "9c124874-042d-48cd-b72b-ccdc51ecbbd6"},
            "value 2 (   )",
            "missing 'value'",
        ),
        ({"value": 41, "uuid": "9c124874-042d-48cd-b72b-ccdc51ecbbd6"}, "value 2", "missing"),
        ("APT1", "value 2", "expected a JSON object"),
        (
            {"value": "Meta", "uuid": "9c124874-042d-48cd-b72b-ccdc51ecbbd6", "meta": [1]},
            "value 2 (Meta)",
            "'meta' must be a JSON object",
        ),
    ],
)
def test_misp_bad_value_raises_input_error_naming_it(
    tmp_path: Path, bad: Any, where: str, reason: str
) -> None:
    path = _write(tmp_path / "galaxy.json", _galaxy([_actor("One"), _actor("Two"), bad]))
    with pytest.raises(InputError) as info:
        load_misp_galaxy(path)
    assert info.value.file == str(path)
    assert info.value.where == where
    assert str(info.value).startswith(f"{path}: {where}: ")
    assert reason in str(info.value)


@pytest.mark.parametrize(
    "doc",
    [
        {"values": {}},
        [],
        {"type": "tool", "version": 1, "values": []},
        {"version": -1, "values": []},
        {"version": "12", "values": []},
    ],
)
def test_misp_rejects_what_is_not_a_threat_actor_cluster(doc: Any) -> None:
    with pytest.raises(InputError) as info:
        galaxy_to_stix(doc, "g.json")
    assert info.value.file == "g.json"


def test_misp_out_of_range_version_is_input_error() -> None:
    with pytest.raises(InputError):
        galaxy_to_stix(_galaxy([_actor("One")], version=10**12), "g.json")


def test_misp_uuid_with_trailing_newline_is_rejected() -> None:
    value = {"value": "Nl", "uuid": "9c124874-042d-48cd-b72b-ccdc51ecbbd6\n"}
    with pytest.raises(InputError):
        galaxy_to_stix(_galaxy([value]), "g.json")


# -- CISA KEV ----------------------------------------------------------------------------------

# KEV field -> the STIX custom property it must land in (the documented mapping).
KEV_FIELDS = {
    "vendorProject": "x_kev_vendor_project",
    "product": "x_kev_product",
    "vulnerabilityName": "x_kev_vulnerability_name",
    "dateAdded": "x_kev_date_added",
    "requiredAction": "x_kev_required_action",
    "dueDate": "x_kev_due_date",
    "knownRansomwareCampaignUse": "x_kev_known_ransomware_campaign_use",
    "notes": "x_kev_notes",
    "cwes": "x_kev_cwes",
}


@pytest.fixture(scope="module")
def kev_raw(kev_path: Path) -> dict[str, Any]:
    return _read_json(kev_path)


@pytest.fixture(scope="module")
def kev_loaded(kev_path: Path) -> list[dict[str, Any]]:
    return load_kev(kev_path)


def test_kev_one_vulnerability_per_entry(
    kev_raw: dict[str, Any], kev_loaded: list[dict[str, Any]]
) -> None:
    entries = kev_raw["vulnerabilities"]
    types = Counter(o["type"] for o in kev_loaded)
    assert types == {"identity": 1, "vulnerability": len(entries)}
    vulns = [o for o in kev_loaded if o["type"] == "vulnerability"]
    assert [o["name"] for o in vulns] == [e["cveID"] for e in entries]
    assert len({o["id"] for o in vulns}) == len({e["cveID"] for e in entries})
    assert all(validate_object(o) is None for o in kev_loaded)


def test_kev_fields_are_kept(kev_raw: dict[str, Any], kev_loaded: list[dict[str, Any]]) -> None:
    entries = kev_raw["vulnerabilities"]
    vulns = [o for o in kev_loaded if o["type"] == "vulnerability"]
    released = datetime.fromisoformat(kev_raw["dateReleased"].rstrip("Z")).replace(tzinfo=UTC)
    identity = next(o for o in kev_loaded if o["type"] == "identity")
    for entry, obj in zip(entries, vulns, strict=True):
        for field, prop in KEV_FIELDS.items():
            if field in entry:
                assert _dump(obj[prop]) == _dump(entry[field]), (entry["cveID"], field)
        assert obj["description"] == entry["shortDescription"]
        assert obj["x_kev_catalog_version"] == kev_raw["catalogVersion"]
        assert obj["created_by_ref"] == identity["id"]
        assert {"source_name": "cve", "external_id": entry["cveID"]} in obj["external_references"]
        assert obj["created"] == f"{entry['dateAdded']}T00:00:00.000Z"
        added = datetime.combine(date.fromisoformat(entry["dateAdded"]), datetime.min.time())
        if added.replace(tzinfo=UTC) <= released:
            assert obj["modified"] == kev_raw["dateReleased"]
        else:
            assert obj["modified"] == obj["created"]


def test_kev_ids_are_deterministic(kev_path: Path, kev_loaded: list[dict[str, Any]]) -> None:
    again = load_kev(kev_path)
    assert [o["id"] for o in again] == [o["id"] for o in kev_loaded]
    for obj in kev_loaded:
        if obj["type"] != "vulnerability":
            continue
        assert obj["id"] == vulnerability_id(obj["name"])
        parsed = uuid.UUID(obj["id"].removeprefix("vulnerability--"))
        assert parsed.version == 5
    assert vulnerability_id("cve-2021-44228") == vulnerability_id("CVE-2021-44228")
    assert vulnerability_id("CVE-2021-44228") != vulnerability_id("CVE-2021-44229")


def _kev_doc(entries: list[Any]) -> dict[str, Any]:
    return {
        "catalogVersion": "2025.01.01",
        "dateReleased": "2025-01-01T10:00:00.1234Z",
        "vulnerabilities": entries,
    }


def _kev_entry(cve: Any, added: Any = "2024-12-30") -> dict[str, Any]:
    return {"cveID": cve, "dateAdded": added, "vendorProject": "V", "product": "P"}


@pytest.mark.parametrize(
    ("bad", "where", "reason"),
    [
        (_kev_entry("CVE-21-44228"), "vulnerability 1 (CVE-21-44228)", "invalid 'cveID'"),
        (_kev_entry("CVE-2021-123"), "vulnerability 1 (CVE-2021-123)", "invalid 'cveID'"),
        (_kev_entry(""), "vulnerability 1 ()", "invalid 'cveID'"),
        (_kev_entry(None), "vulnerability 1", "invalid 'cveID'"),
        (
            _kev_entry("CVE-2021-44228", "2021-13-10"),
            "vulnerability 1 (CVE-2021-44228)",
            "invalid 'dateAdded'",
        ),
        (
            _kev_entry("CVE-2021-44228", "December 10, 2021"),
            "vulnerability 1 (CVE-2021-44228)",
            "invalid 'dateAdded'",
        ),
        (
            _kev_entry("CVE-2021-44228", 20211210),
            "vulnerability 1 (CVE-2021-44228)",
            "invalid 'dateAdded'",
        ),
        (
            {"cveID": "CVE-2021-44228"},
            "vulnerability 1 (CVE-2021-44228)",
            "invalid 'dateAdded'",
        ),
        ("CVE-2021-44228", "vulnerability 1", "expected a JSON object"),
    ],
)
def test_kev_bad_entry_raises_input_error_naming_it(
    tmp_path: Path, bad: Any, where: str, reason: str
) -> None:
    path = _write(tmp_path / "kev.json", _kev_doc([_kev_entry("CVE-2020-0001"), bad]))
    with pytest.raises(InputError) as info:
        load_kev(path)
    assert info.value.file == str(path)
    assert info.value.where == where
    assert str(info.value).startswith(f"{path}: {where}: ")
    assert reason in str(info.value)


def test_kev_small_feed_maps_dates(tmp_path: Path) -> None:
    doc = _kev_doc([_kev_entry("CVE-2020-0001", "2024-12-30"), _kev_entry("CVE-2020-0002")])
    doc["vulnerabilities"][1]["dateAdded"] = "2025-02-01"  # added after the release stamp
    path = _write(tmp_path / "kev.json", doc)
    objects = load_kev(path)
    vulns = {o["name"]: o for o in objects if o["type"] == "vulnerability"}
    assert vulns["CVE-2020-0001"]["created"] == "2024-12-30T00:00:00.000Z"
    assert vulns["CVE-2020-0001"]["modified"] == "2025-01-01T10:00:00.1234Z"
    assert vulns["CVE-2020-0002"]["modified"] == "2025-02-01T00:00:00.000Z"


@pytest.mark.parametrize(
    "doc",
    [
        {"vulnerabilities": {}},
        [],
        {"dateReleased": "2025-01-01T00:00:00Z"},
        {"dateReleased": "yesterday", "vulnerabilities": []},
        {"vulnerabilities": []},
    ],
)
def test_kev_rejects_what_is_not_a_feed(tmp_path: Path, doc: Any) -> None:
    path = _write(tmp_path / "kev.json", doc)
    with pytest.raises(InputError) as info:
        load_kev(path)
    assert info.value.file == str(path)


def test_kev_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_kev(tmp_path / "missing.json")
    with pytest.raises(InputError, match="is a directory"):
        load_kev(tmp_path)
    (tmp_path / "cut.json").write_text('{"vulnerabilities": [')
    with pytest.raises(InputError, match="not valid JSON"):
        load_kev(tmp_path / "cut.json")


# -- registry ----------------------------------------------------------------------------------


def test_get_source_unknown_lists_known_sources() -> None:
    with pytest.raises(ConfigError) as info:
        get_source("nope")
    message = str(info.value)
    assert "'nope'" in message
    listed = message.split("known sources:", 1)[1]
    names = [n.strip() for n in listed.split(",")]
    assert {"attack", "kev", "misp-galaxy", "stix"} <= set(names)
    assert set(names) == set(all_sources())


def test_get_source_returns_the_named_source() -> None:
    for name in ("attack", "kev", "misp-galaxy", "stix"):
        assert get_source(name).name == name
    assert get_source("misp-galaxy").default_path is not None
    assert get_source("kev").default_path is None
    with pytest.raises(ConfigError, match="needs a PATH"):
        load_source("kev", None)
