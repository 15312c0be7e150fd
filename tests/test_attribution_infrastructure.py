"""Indicators, infrastructure and sightings in the knowledge base make IOCs attribution evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threatscope.attribution import attribute, make_evidence
from threatscope.attribution.infrastructure import observable_values, pattern_values
from threatscope.ingest import run_import
from threatscope.store import SQLiteStore, open_store

_T = "2025-01-01T00:00:00.000Z"
_SHA = "a" * 63 + "1"


def _sdo(kind: str, uuid: str, **extra: object) -> dict[str, object]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{uuid}",
        "created": _T,
        "modified": _T,
        **extra,
    }


def _rel(n: int, source: str, rel_type: str, target: str) -> dict[str, object]:
    return _sdo(
        "relationship",
        f"00000000-0000-4000-8000-{n:012d}",
        relationship_type=rel_type,
        source_ref=source,
        target_ref=target,
    )


LANTERN = "intrusion-set--10000000-0000-4000-8000-000000000001"
KETTLE = "intrusion-set--10000000-0000-4000-8000-000000000002"
C2 = "infrastructure--20000000-0000-4000-8000-000000000001"
IP = "ipv4-addr--30000000-0000-4000-8000-000000000001"
DOMAIN = "domain-name--30000000-0000-4000-8000-000000000002"
FILE = "file--30000000-0000-4000-8000-000000000003"
INDICATOR = "indicator--40000000-0000-4000-8000-000000000001"
OBSERVED = "observed-data--50000000-0000-4000-8000-000000000001"


def _bundle() -> dict[str, object]:
    objects = [
        {**_sdo("intrusion-set", LANTERN.split("--")[1], name="Copper Lantern")},
        {**_sdo("intrusion-set", KETTLE.split("--")[1], name="Tin Kettle")},
        {**_sdo("infrastructure", C2.split("--")[1], name="Lantern C2")},
        {"type": "ipv4-addr", "spec_version": "2.1", "id": IP, "value": "198.51.100.7"},
        {
            "type": "domain-name",
            "spec_version": "2.1",
            "id": DOMAIN,
            "value": "Update.Copper-Lantern.example",
        },
        {"type": "file", "spec_version": "2.1", "id": FILE, "hashes": {"SHA-256": _SHA}},
        _sdo(
            "indicator",
            INDICATOR.split("--")[1],
            pattern="[domain-name:value = 'cdn.tin-kettle.example']",
            pattern_type="stix",
            valid_from=_T,
        ),
        _sdo(
            "observed-data",
            OBSERVED.split("--")[1],
            first_observed=_T,
            last_observed=_T,
            number_observed=1,
            object_refs=[FILE],
        ),
        _sdo(
            "sighting",
            "60000000-0000-4000-8000-000000000001",
            sighting_of_ref=LANTERN,
            observed_data_refs=[OBSERVED],
        ),
        _rel(1, LANTERN, "uses", C2),
        _rel(2, C2, "consists-of", IP),
        _rel(3, C2, "consists-of", DOMAIN),
        _rel(4, INDICATOR, "indicates", KETTLE),
    ]
    return {
        "type": "bundle",
        "id": "bundle--70000000-0000-4000-8000-000000000001",
        "objects": objects,
    }


@pytest.fixture()
def kb(tmp_path: Path, kb_location: str) -> SQLiteStore:
    path = tmp_path / "infra.json"
    path.write_text(json.dumps(_bundle()))
    store = open_store(kb_location)
    run_import(store, "stix", path)
    return store


@pytest.mark.parametrize(
    ("ioc", "actor", "how"),
    [
        ("198.51.100.7", "Copper Lantern", "infrastructure"),
        ("update.copper-lantern.example", "Copper Lantern", "infrastructure"),
        ("cdn.tin-kettle.example", "Tin Kettle", "indicator"),
        (_SHA.upper(), "Copper Lantern", "sighting"),
    ],
)
def test_an_ioc_points_at_the_actor_whose_infrastructure_it_is(
    kb: SQLiteStore, ioc: str, actor: str, how: str
) -> None:
    result = attribute(kb, make_evidence(iocs=[ioc]))
    top = result["candidates"][0]
    assert top["name"] == actor
    assert top["probability"] > result["candidates"][1]["probability"]
    assert result["evidence_used"]["iocs"] == [ioc.lower()]
    assert result["evidence_used"]["unresolved"] == {}
    why = [e["why"] for e in top["evidence"] if e["kind"] == "ioc"]
    assert why == [f"{ioc.lower()} in the actor's profile ({how})"]


def test_an_unknown_ioc_is_reported_unresolved(kb: SQLiteStore) -> None:
    result = attribute(kb, make_evidence(iocs=["203.0.113.99"]))
    assert result["evidence_used"]["unresolved"] == {"iocs": ["203.0.113.99"]}
    assert result["verdict"] == "insufficient evidence"


def test_observable_values() -> None:
    assert observable_values({"type": "ipv4-addr", "value": "192.0.2.1"}) == ["192.0.2.1"]
    assert observable_values({"type": "file", "hashes": {"MD5": "ABC", "SHA-1": "Def"}}) == [
        "abc",
        "def",
    ]
    assert observable_values({"type": "process", "pid": 4}) == []


@given(st.text(min_size=1, max_size=40))
def test_pattern_values_unescape_what_a_pattern_escapes(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    pattern = f"[url:value = '{escaped}' OR domain-name:value = 'x.example']"
    assert pattern_values(pattern) == [value.lower(), "x.example"]


def test_two_infrastructure_matches_name_the_actor(kb: SQLiteStore) -> None:
    one = attribute(kb, make_evidence(iocs=["198.51.100.7"]))
    both = attribute(kb, make_evidence(iocs=["198.51.100.7", "update.copper-lantern.example"]))
    # One reused IP is not enough to name an actor; two pieces of its infrastructure are.
    assert one["verdict"] == "insufficient evidence"
    assert both["verdict"] in {"very likely Copper Lantern", "almost certain Copper Lantern"}
    assert both["candidates"][0]["probability"] > one["candidates"][0]["probability"]
