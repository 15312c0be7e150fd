"""STIX parsing and validation: `parse_bundle`, `parse_file`, `normalise_timestamp`.

Every expectation is computed here from the input the test builds; nothing is copied from a run
of the code under test.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatscope.errors import InputError
from threatscope.stix import is_identifier, normalise_timestamp, parse_bundle, parse_file

T0 = "2020-01-01T00:00:00.000Z"
T1 = "2021-06-15T12:30:45.123Z"


def _id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"


def _sdo(stix_type: str, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": stix_type,
        "id": _id(stix_type),
        "created": T0,
        "modified": T1,
    }
    obj.update(extra)
    return obj


def _v21(obj: dict[str, Any]) -> dict[str, Any]:
    return {"spec_version": "2.1", **obj}


def _bundle(objects: list[Any], spec_version: str | None = None) -> bytes:
    doc: dict[str, Any] = {"type": "bundle", "id": _id("bundle")}
    if spec_version is not None:
        doc["spec_version"] = spec_version
    doc["objects"] = objects
    return json.dumps(doc).encode()


def _dump(value: Any) -> str:
    """Serialise with the standard library, independently of the orjson the code uses."""
    return json.dumps(value, ensure_ascii=False)


# -- STIX 2.1 -----------------------------------------------------------------------------------


def test_parse_2_1_bundle_returns_objects_unchanged_in_file_order() -> None:
    source = _id("identity")
    objects = [
        _v21(_sdo("identity", name="ACME", identity_class="organization")),
        _v21(_sdo("malware", name="Evil", is_family=False, malware_types=["trojan"])),
        _v21(_sdo("intrusion-set", name="APT Zero", aliases=["APT Zero", "Zero Team"])),
        _v21(
            _sdo(
                "relationship",
                relationship_type="uses",
                source_ref=source,
                target_ref=_id("malware"),
            )
        ),
        {"type": "ipv4-addr", "spec_version": "2.1", "id": _id("ipv4-addr"), "value": "10.0.0.1"},
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": _id("marking-definition"),
            "created": T0,
            "definition_type": "statement",
            "definition": {"statement": "copyright"},
        },
    ]
    expected = copy.deepcopy(objects)
    data = _bundle(objects)
    bundle_id = json.loads(data)["id"]

    bundle = parse_bundle(data, "mem.json")

    assert bundle.file == "mem.json"
    assert bundle.id == bundle_id
    assert bundle.upgraded == 0
    assert bundle.objects == expected
    assert [o["id"] for o in bundle.objects] == [o["id"] for o in expected]


def test_parse_file_reads_the_file_and_names_it(tmp_path: Path) -> None:
    objects = [_v21(_sdo("campaign", name="Op One")), _v21(_sdo("tool", name="T"))]
    path = tmp_path / "b.json"
    path.write_bytes(_bundle(objects))

    bundle = parse_file(path)

    assert bundle.file == str(path)
    assert len(bundle.objects) == len(objects)
    assert bundle.objects == objects


def test_parse_accepts_str_input() -> None:
    obj = _v21(_sdo("attack-pattern", name="Phishing"))
    bundle = parse_bundle(_bundle([obj]).decode())
    assert bundle.objects == [obj]


def test_bare_object_is_treated_as_a_one_object_bundle() -> None:
    obj = _v21(_sdo("intrusion-set", name="Lonely"))
    bundle = parse_bundle(json.dumps(obj))
    assert bundle.objects == [obj]


def test_empty_bundle_parses_to_no_objects() -> None:
    assert parse_bundle(b'{"type": "bundle", "objects": []}').objects == []
    assert parse_bundle(b'{"type": "bundle"}').objects == []


# -- STIX 2.0 upgrade -------------------------------------------------------------------------


def test_2_0_bundle_objects_are_upgraded_to_2_1() -> None:
    identity = _sdo("identity", name="The MITRE Corporation", identity_class="organization")
    malware = _sdo("malware", name="Evil", labels=["backdoor", "trojan"])
    tool = _sdo("tool", name="PsExec", labels=["remote-access"])
    indicator = _sdo(
        "indicator",
        labels=["malicious-activity"],
        pattern="[file:name = 'x.exe']",
        valid_from=T0,
    )
    report = _sdo(
        "report", name="R", labels=["threat-report"], published=T1, object_refs=[malware["id"]]
    )
    actor = _sdo("threat-actor", name="Actor", labels=["nation-state"])
    group = _sdo("intrusion-set", name="G")
    rel = _sdo(
        "relationship",
        relationship_type="uses",
        source_ref=group["id"],
        target_ref=malware["id"],
    )
    marking = {
        "type": "marking-definition",
        "id": _id("marking-definition"),
        "created": T0,
        "definition_type": "statement",
        "definition": {"statement": "(c) MITRE"},
    }
    objects = [identity, malware, tool, indicator, report, actor, group, rel, marking]
    originals = copy.deepcopy(objects)

    bundle = parse_bundle(_bundle(objects, spec_version="2.0"))

    assert bundle.spec_version == "2.0"
    assert bundle.upgraded == len(originals)
    assert len(bundle.objects) == len(originals)
    for parsed, original in zip(bundle.objects, originals, strict=True):
        assert parsed["spec_version"] == "2.1"
        # nothing the 2.0 object had is lost or changed
        for key, value in original.items():
            assert parsed[key] == value, key
    by_type = {o["type"]: o for o in bundle.objects}
    assert by_type["malware"]["malware_types"] == ["backdoor", "trojan"]
    assert by_type["malware"]["is_family"] is True
    assert by_type["tool"]["tool_types"] == ["remote-access"]
    assert by_type["indicator"]["indicator_types"] == ["malicious-activity"]
    assert by_type["indicator"]["pattern_type"] == "stix"
    assert by_type["report"]["report_types"] == ["threat-report"]
    assert by_type["threat-actor"]["threat_actor_types"] == ["nation-state"]
    assert "is_family" not in by_type["intrusion-set"]
    added = set(by_type["intrusion-set"]) - set(group)
    assert added == {"spec_version"}


def test_2_0_upgrade_keeps_values_the_object_already_has() -> None:
    malware = _sdo("malware", name="M", labels=["worm"], malware_types=["ransomware"])
    malware["is_family"] = False
    bundle = parse_bundle(_bundle([malware], spec_version="2.0"))
    (parsed,) = bundle.objects
    assert parsed["malware_types"] == ["ransomware"]
    assert parsed["is_family"] is False
    assert parsed["labels"] == ["worm"]


def test_objects_without_any_spec_version_are_read_as_2_0() -> None:
    malware = _sdo("malware", name="M", labels=["bot"])
    bundle = parse_bundle(_bundle([malware]))
    (parsed,) = bundle.objects
    assert bundle.upgraded == 1
    assert parsed["spec_version"] == "2.1"
    assert parsed["malware_types"] == ["bot"]
    assert parsed["is_family"] is True


def test_2_1_bundle_level_version_gives_every_object_spec_version() -> None:
    malware = _sdo("malware", name="M", is_family=True)
    bundle = parse_bundle(_bundle([malware], spec_version="2.1"))
    assert [o.get("spec_version") for o in bundle.objects] == ["2.1"]


def test_custom_x_mitre_properties_survive_byte_identical() -> None:
    custom = {
        "x_mitre_version": "1.2",
        "x_mitre_deprecated": False,
        "x_mitre_platforms": ["Windows", "Linux", "macOS"],
        "x_mitre_domains": ["enterprise-attack"],
        "x_mitre_data_source_ref": "",
        "x_mitre_modified_by_ref": "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5",
        "x_mitre_detection": "Ünïcödé — “quotes” and \\ backslashes\nnewline",
        "x_mitre_nested": {"b": [1, 2.5, None, {"z": True}], "a": -0.0, "big": 2**53 - 1},
        "x_mitre_empty": {},
    }
    malware = _sdo("malware", name="M", labels=["trojan"], **custom)
    bundle = parse_bundle(_bundle([copy.deepcopy(malware)], spec_version="2.0"))
    (parsed,) = bundle.objects
    for key, value in custom.items():
        assert _dump(parsed[key]) == _dump(value), key


# -- validation errors ------------------------------------------------------------------------

GOOD_UUID = "6b3e0e3e-9a6f-4c44-9a0c-0a0b0c0d0e0f"


def _bad(obj_changes: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    obj = _v21(_sdo("malware", name="Bad", is_family=True))
    obj["id"] = f"malware--{GOOD_UUID}"
    obj.update(obj_changes)
    for key in drop:
        obj.pop(key)
    return obj


def _relationship(**changes: Any) -> dict[str, Any]:
    rel = _v21(
        _sdo(
            "relationship",
            relationship_type="uses",
            source_ref=_id("intrusion-set"),
            target_ref=_id("malware"),
        )
    )
    rel["id"] = f"relationship--{GOOD_UUID}"
    drop = [k for k, v in changes.items() if v is None]
    rel.update({k: v for k, v in changes.items() if v is not None})
    for key in drop:
        rel.pop(key)
    return rel


BAD_OBJECTS = [
    pytest.param(_bad({"id": "malware--not-a-uuid"}), "invalid id", id="bad-id-format"),
    pytest.param(_bad({"id": "malware-6b3e0e3e"}), "invalid id", id="id-without-uuid"),
    pytest.param(_bad({"id": f"tool--{GOOD_UUID}"}), "does not match type", id="type-id-mismatch"),
    pytest.param(_bad({}, drop=("created",)), "invalid or missing 'created'", id="no-created"),
    pytest.param(
        _bad({"created": "2020-13-01T00:00:00Z"}),
        "invalid or missing 'created'",
        id="created-month-13",
    ),
    pytest.param(
        _bad({"created": "2020-01-01 00:00:00Z"}),
        "invalid or missing 'created'",
        id="created-no-T",
    ),
    pytest.param(_bad({"created": 1577836800}), "invalid or missing 'created'", id="created-int"),
    pytest.param(_bad({"created": ["2020"]}), "invalid or missing 'created'", id="created-list"),
    pytest.param(_bad({}, drop=("modified",)), "invalid or missing 'modified'", id="no-modified"),
    pytest.param(
        _bad({"modified": {"at": T1}}), "invalid or missing 'modified'", id="modified-dict"
    ),
    pytest.param(
        _bad({"modified": "2021-06-15T12:30:45"}),
        "invalid or missing 'modified'",
        id="modified-no-Z",
    ),
    pytest.param(
        _bad({"modified": "2021-02-30T00:00:00Z"}),
        "invalid or missing 'modified'",
        id="modified-feb-30",
    ),
    pytest.param(
        _bad({"created": "2021-01-01T00:00:00.5Z", "modified": "2021-01-01T00:00:00.499Z"}),
        "is earlier than 'created'",
        id="modified-before-created",
    ),
    pytest.param(_relationship(source_ref=None), "without 'source_ref'", id="rel-no-source"),
    pytest.param(_relationship(target_ref=None), "without 'target_ref'", id="rel-no-target"),
    pytest.param(
        _relationship(relationship_type=None),
        "without 'relationship_type'",
        id="rel-no-type",
    ),
    pytest.param(
        _relationship(source_ref="G0096"),
        "'source_ref' is not a STIX identifier",
        id="rel-source-not-identifier",
    ),
    pytest.param(
        _bad({"created_by_ref": "MITRE"}),
        "'created_by_ref' is not a STIX identifier",
        id="created-by-ref",
    ),
    pytest.param(
        _bad({"created_by_ref": [f"identity--{GOOD_UUID}"]}),
        "'created_by_ref' is not a STIX identifier",
        id="created-by-ref-list",
    ),
    pytest.param(
        _bad({"object_marking_refs": [[f"marking-definition--{GOOD_UUID}"]]}),
        "'object_marking_refs' holds a value that is not a STIX identifier",
        id="refs-nested-list",
    ),
    pytest.param(
        _bad({"object_marking_refs": [f"marking-definition--{GOOD_UUID}", "tlp:white"]}),
        "'object_marking_refs' holds a value that is not a STIX identifier",
        id="refs-item",
    ),
    pytest.param(
        _bad({"object_marking_refs": f"marking-definition--{GOOD_UUID}"}),
        "'object_marking_refs' must be a list",
        id="refs-not-list",
    ),
    pytest.param(_bad({"revoked": "yes"}), "'revoked' must be true or false", id="revoked-str"),
    pytest.param(_bad({"spec_version": "2.2"}), "unsupported spec_version", id="spec-2.2"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_OBJECTS)
def test_invalid_object_raises_input_error_naming_file_object_and_reason(
    tmp_path: Path, bad: dict[str, Any], reason: str
) -> None:
    good = _v21(_sdo("intrusion-set", name="Fine"))
    path = tmp_path / "broken.json"
    path.write_bytes(_bundle([good, bad]))

    with pytest.raises(InputError) as info:
        parse_file(path)

    error = info.value
    text = str(error)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert f"object 1 ({bad['id']})" in text
    assert reason in text
    assert error.file == str(path)
    assert error.where == f"object 1 ({bad['id']})"
    assert reason in error.reason


def test_object_without_id_is_named_by_index_only(tmp_path: Path) -> None:
    objects = [_v21(_sdo("tool", name="ok")), _v21(_sdo("tool", name="ok2")), {"type": "tool"}]
    path = tmp_path / "noid.json"
    path.write_bytes(_bundle(objects))
    with pytest.raises(InputError) as info:
        parse_file(path)
    assert info.value.where == "object 2"
    assert "missing 'id'" in str(info.value)


def test_non_object_entry_is_reported_with_its_json_type() -> None:
    with pytest.raises(InputError) as info:
        parse_bundle(_bundle([_v21(_sdo("tool")), ["not", "an", "object"]]), "x.json")
    assert info.value.where == "object 1"
    assert "expected a JSON object, got list" in str(info.value)


def test_several_bad_objects_report_the_first_and_how_many_more() -> None:
    first = _bad({"created": "never"})
    objects = [
        _v21(_sdo("tool")),
        first,
        _v21(_sdo("tool")),
        _bad({"id": "malware--x"}),
        _bad({"revoked": 1}),
    ]
    with pytest.raises(InputError) as info:
        parse_bundle(_bundle(objects), "many.json")
    assert info.value.where == f"object 1 ({first['id']})"
    assert "(and 2 more bad objects)" in str(info.value)


def test_custom_ref_properties_are_not_checked() -> None:
    obj = _v21(
        _sdo(
            "x-mitre-data-component",
            name="DC",
            x_mitre_data_source_ref="",
            x_custom_refs=["nope", 3],
        )
    )
    assert parse_bundle(_bundle([obj])).objects == [obj]


def test_observables_need_no_timestamps_and_markings_no_modified() -> None:
    sco = {"type": "domain-name", "spec_version": "2.1", "id": _id("domain-name"), "value": "x.io"}
    marking = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _id("marking-definition"),
        "created": T0,
        "definition_type": "tlp",
        "definition": {"tlp": "white"},
    }
    assert parse_bundle(_bundle([sco, marking])).objects == [sco, marking]
    bad_marking = dict(marking, modified="2019-01-01T00:00:00Z")
    with pytest.raises(InputError, match="is earlier than 'created'"):
        parse_bundle(_bundle([bad_marking]))


def test_truncated_json_names_the_file(tmp_path: Path) -> None:
    data = _bundle([_v21(_sdo("malware", name="M", is_family=True)) for _ in range(3)])
    path = tmp_path / "cut.json"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as info:
        parse_file(path)
    assert str(info.value).startswith(f"{path}: not valid JSON")
    assert info.value.file == str(path)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[1, 2, 3]", "expected a STIX bundle"),
        (b'"bundle"', "expected a STIX bundle"),
        (b"42", "expected a STIX bundle"),
        (b"null", "expected a STIX bundle"),
        (b'{"type": "report", "name": "no id"}', "expected type 'bundle'"),
        (b'{"objects": []}', "expected type 'bundle'"),
        (b'{"type": "bundle", "objects": {"a": 1}}', "'objects' must be a list"),
        (b'{"type": "bundle", "id": "bundle--nope", "objects": []}', "invalid bundle id"),
        (
            b'{"type": "bundle", "id": "report--6b3e0e3e-9a6f-4c44-9a0c-0a0b0c0d0e0f"}',
            "invalid bundle id",
        ),
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
    ],
)
def test_non_bundle_input_raises_input_error(payload: bytes, reason: str) -> None:
    with pytest.raises(InputError) as info:
        parse_bundle(payload, "odd.json")
    assert str(info.value).startswith("odd.json: ")
    assert reason in str(info.value)


def test_missing_file_and_directory_raise_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(InputError, match="no such file") as info:
        parse_file(missing)
    assert info.value.file == str(missing)
    with pytest.raises(InputError, match="is a directory"):
        parse_file(tmp_path)


# -- bugs found by hand: regex `$` and `\d` ----------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2020-01-01T00:00:00Z\n", "2020-01-01T00:00:00.5Z\n"], ids=["whole", "fraction"]
)
def test_normalise_timestamp_rejects_trailing_newline(value: str) -> None:
    assert normalise_timestamp(value) is None


@pytest.mark.parametrize("value", ["2020-01-01T00:00:00.\u0661Z", "2020-01-01T00:00:00.1\u09e8Z"])
def test_normalise_timestamp_rejects_non_ascii_digits(value: str) -> None:
    assert normalise_timestamp(value) is None


def test_identifier_with_trailing_newline_is_rejected() -> None:
    assert not is_identifier(f"malware--{GOOD_UUID}\n")
    with pytest.raises(InputError):
        parse_bundle(_bundle([_bad({"id": f"malware--{GOOD_UUID}\n"})]))


def test_timestamp_with_trailing_newline_is_rejected_in_objects() -> None:
    with pytest.raises(InputError):
        parse_bundle(_bundle([_bad({"modified": "2021-06-15T12:30:45Z\n"})]))


# -- hypothesis: arbitrary input -----------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)

_TYPES = ["malware", "tool", "indicator", "report", "threat-actor", "intrusion-set", "relationship"]
_TYPES += ["marking-definition", "ipv4-addr", "bundle", "x-custom", "A", "", "a"]
_plausible_values = st.one_of(
    json_values,
    st.sampled_from(_TYPES),
    st.sampled_from(_TYPES).map(lambda t: f"{t}--{GOOD_UUID}"),
    st.sampled_from(["2020-01-01T00:00:00Z", "2019-01-01T00:00:00.1Z", "2020-01-01", "x"]),
    st.sampled_from(["2.0", "2.1", "3.0"]),
    st.lists(st.sampled_from(["a", f"tool--{GOOD_UUID}"]), max_size=3),
)
_KEYS = [
    "type",
    "id",
    "created",
    "modified",
    "spec_version",
    "labels",
    "revoked",
    "relationship_type",
    "source_ref",
    "target_ref",
    "created_by_ref",
    "object_refs",
    "malware_types",
    "is_family",
    "x_mitre_data_source_ref",
    "objects",
]
stix_like_objects = st.dictionaries(st.sampled_from(_KEYS), _plausible_values, max_size=10)
stix_like_bundles = st.fixed_dictionaries(
    {"type": st.just("bundle"), "objects": st.lists(stix_like_objects | json_values, max_size=4)},
    optional={
        "id": _plausible_values,
        "spec_version": st.sampled_from(["2.0", "2.1", "9", None]) | json_values,
    },
)


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        json_values.map(_encode),
        stix_like_objects.map(_encode),
        stix_like_bundles.map(_encode),
        st.binary(max_size=64),
        stix_like_bundles.map(_encode).flatmap(
            lambda b: st.integers(0, len(b)).map(lambda n: b[:n])
        ),
    )
)
def test_arbitrary_input_raises_nothing_but_input_error(data: bytes) -> None:
    try:
        bundle = parse_bundle(data, "fuzz.json")
    except InputError as error:
        assert str(error).startswith("fuzz.json")
        assert error.file == "fuzz.json"
    else:
        # whatever is accepted is an upgraded, well-identified object
        for obj in bundle.objects:
            assert isinstance(obj, dict)
            assert obj.get("spec_version", "2.1") == "2.1"
            assert obj["id"].startswith(obj["type"] + "--")


# -- hypothesis: generated valid objects ---------------------------------------------------------


def _stamp(moment: datetime, digits: str) -> str:
    """A STIX timestamp for `moment` (seconds resolution) plus a fraction written as `digits`."""
    head = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    return f"{head}.{digits}Z" if digits else f"{head}Z"


def _instant(moment: datetime, digits: str) -> tuple[datetime, Decimal]:
    return moment.replace(microsecond=0), Decimal(f"0.{digits}") if digits else Decimal(0)


seconds = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(microsecond=0))
fractions = st.text(alphabet="0123456789", max_size=9)

custom_keys = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12
).map(lambda s: f"x_{s}")
custom_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)


@st.composite
def valid_objects(draw: st.DrawFn) -> dict[str, Any]:
    stix_type = draw(
        st.sampled_from(["malware", "tool", "intrusion-set", "campaign", "x-mitre-tactic"])
    )
    created = draw(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)))
    later = draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
    created_digits = draw(st.integers(0, 6))
    modified_digits = draw(st.integers(0, 6))
    created_moment = created.replace(microsecond=0)
    created_fraction = f"{created.microsecond:06d}"[:created_digits]
    # modified is at least one whole second after created unless the offset is zero
    modified_moment = created_moment + timedelta(seconds=int(later.total_seconds()) + 1)
    modified_fraction = f"{later.microseconds:06d}"[:modified_digits]
    obj: dict[str, Any] = {
        "type": stix_type,
        "id": f"{stix_type}--{draw(st.uuids())}",
        "created": _stamp(created_moment, created_fraction),
        "modified": _stamp(modified_moment, modified_fraction),
        "name": draw(st.text(max_size=20)),
    }
    obj.update(draw(st.dictionaries(custom_keys, custom_values, max_size=5)))
    return obj


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(valid_objects(), min_size=1, max_size=4), st.booleans())
def test_generated_valid_objects_parse_and_keep_custom_properties(
    objects: list[dict[str, Any]], as_2_0: bool
) -> None:
    originals = copy.deepcopy(objects)
    data = _bundle(objects, "2.0") if as_2_0 else _bundle([_v21(o) for o in objects])

    bundle = parse_bundle(data, "gen.json")

    assert len(bundle.objects) == len(originals)
    assert bundle.upgraded == (len(originals) if as_2_0 else 0)
    for parsed, original in zip(bundle.objects, originals, strict=True):
        assert parsed["spec_version"] == "2.1"
        for key in ("type", "id", "created", "modified", "name"):
            assert parsed[key] == original[key]
        for key, value in original.items():
            if key.startswith("x_"):
                assert _dump(parsed[key]) == _dump(value), key


# -- hypothesis: normalise_timestamp ordering ----------------------------------------------------

_NORMALISED = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z")


def _cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


@settings(max_examples=300, deadline=None)
@given(seconds, fractions, seconds, fractions)
def test_normalise_timestamp_preserves_instant_order(
    moment_a: datetime, digits_a: str, moment_b: datetime, digits_b: str
) -> None:
    text_a, text_b = _stamp(moment_a, digits_a), _stamp(moment_b, digits_b)
    norm_a, norm_b = normalise_timestamp(text_a), normalise_timestamp(text_b)
    assert norm_a is not None
    assert norm_b is not None
    assert _NORMALISED.match(norm_a)
    assert _NORMALISED.match(norm_b)
    order = _cmp(_instant(moment_a, digits_a), _instant(moment_b, digits_b))
    if len(digits_a) <= 6 and len(digits_b) <= 6:
        # microsecond precision or coarser: exactly the order of the instants
        assert _cmp(norm_a, norm_b) == order
    else:
        # finer than microseconds is truncated: order is kept, ties are allowed
        assert _cmp(norm_a, norm_b) in (order, 0)


@settings(max_examples=100, deadline=None)
@given(seconds, st.text(alphabet="0123456789", max_size=6), st.integers(0, 3))
def test_normalise_timestamp_ignores_trailing_zero_precision(
    moment: datetime, digits: str, padding: int
) -> None:
    short = _stamp(moment, digits)
    padded = _stamp(moment, digits + "0" * padding)
    assert normalise_timestamp(short) == normalise_timestamp(padded)
    expected_micros = (digits + "000000")[:6]
    assert normalise_timestamp(short) == (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{expected_micros}Z"
    )


def test_normalise_timestamp_examples() -> None:
    assert normalise_timestamp("2020-01-01T00:00:00.1Z") == "2020-01-01T00:00:00.100000Z"
    assert normalise_timestamp("2020-01-01T00:00:00.100Z") == "2020-01-01T00:00:00.100000Z"
    assert normalise_timestamp("2020-01-01T00:00:00Z") == "2020-01-01T00:00:00.000000Z"
    assert normalise_timestamp("2020-01-01T00:00:00.1234567Z") == "2020-01-01T00:00:00.123456Z"
    for bad in ["2020-01-01T00:00:00", "2020-01-01", "2020-02-30T00:00:00Z", 20200101, None]:
        assert normalise_timestamp(bad) is None
