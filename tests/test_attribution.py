"""Attribution on the real ATT&CK Enterprise + MISP galaxy knowledge base."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import new_location
from threatscope.attribution import (
    attribute,
    build_profiles,
    estimative,
    evidence_from_bundle,
    evidence_from_summary,
    make_evidence,
)
from threatscope.attribution.engine import matrices_for
from threatscope.attribution.evaluate import evaluate_attribution
from threatscope.attribution.evidence import resolve
from threatscope.attribution.score import Params, build_matrices, score, unprofiled
from threatscope.attribution.victims import victim_countries
from threatscope.errors import ConfigError
from threatscope.ingest import run_import
from threatscope.store import SQLiteStore, open_store

_TERMS = {
    "almost no chance",
    "very unlikely",
    "unlikely",
    "roughly even chance",
    "likely",
    "very likely",
    "almost certain",
}


@pytest.fixture(scope="module")
def kb(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    enterprise_path: Path,
    misp_path: Path,
) -> Iterator[SQLiteStore]:
    store = open_store(new_location(request, backend, tmp_path_factory.mktemp("attribution")))
    run_import(store, "attack", enterprise_path)
    run_import(store, "misp-galaxy", misp_path)
    yield store  # type: ignore[misc]
    store.close()


def check_shape(result: dict[str, Any]) -> None:
    assert set(result) == {
        "candidates",
        "nexus",
        "unknown",
        "verdict",
        "estimative",
        "evidence_used",
        "named_actors",
        "knowledge_base",
    }
    total = 0.0
    for candidate in result["candidates"]:
        assert set(candidate) == {"actor_id", "name", "nexus", "probability", "evidence"}
        assert 0.0 <= candidate["probability"] <= 1.0
        total += candidate["probability"]
        for reason in candidate["evidence"]:
            assert set(reason) == {"kind", "value", "weight", "why", "given"}
            assert isinstance(reason["weight"], float)
    assert total <= 1.0 + 1e-6
    assert total + result["unknown"] <= 1.0 + 1e-3
    assert sum(n["probability"] for n in result["nexus"]) <= 1.0 + 1e-3
    assert result["estimative"] in _TERMS
    assert isinstance(result["verdict"], str)
    assert len(result["candidates"]) <= 10


def test_profiles_are_resolved_and_fast(kb: SQLiteStore) -> None:
    profiles = build_profiles(kb)
    assert profiles.build_seconds < 3.0
    apt41 = [a for a in profiles.actors if a.name == "APT41"]
    assert len(apt41) == 1  # the ATT&CK group and its MISP twin are one actor
    assert apt41[0].items["technique"] and apt41[0].items["sector"]
    assert build_profiles(kb) is profiles  # cached


def test_shadowpad_semiconductors_taiwan_is_china_nexus(kb: SQLiteStore) -> None:
    evidence = make_evidence(
        software=["ShadowPad"], sectors=["semiconductors"], victim_countries=["Taiwan"]
    )
    result = attribute(kb, evidence)
    check_shape(result)
    assert result["nexus"][0]["nexus"] == "CN"
    assert result["nexus"][0]["probability"] >= 0.55
    assert result["nexus"][0]["probability"] > 10 * result["nexus"][1]["probability"]
    assert result["candidates"][0]["nexus"] == "CN"
    # ShadowPad is shared among Chinese groups: the nexus is clear, the actor is not.
    assert result["verdict"] in {
        "China-nexus likely, actor undetermined",
        "China-nexus very likely, actor undetermined",
    }
    assert result["candidates"][0]["probability"] < 0.55


def test_lazarus_style_financial_theft_is_dprk(kb: SQLiteStore) -> None:
    evidence = make_evidence(
        software=["AppleJeus", "BLINDINGCAN", "HOPLIGHT"],
        techniques=["T1566.001", "T1204.002", "T1059.003"],
        sectors=["cryptocurrency", "finance"],
    )
    result = attribute(kb, evidence)
    check_shape(result)
    assert result["nexus"][0]["nexus"] == "KP"
    assert result["nexus"][0]["probability"] > 0.8
    top3 = [c["name"] for c in result["candidates"][:3]]
    assert any(name in {"Lazarus Group", "APT38", "AppleJeus"} for name in top3)
    assert result["verdict"].endswith("(North Korea-nexus)")


def test_single_common_technique_is_insufficient(kb: SQLiteStore) -> None:
    result = attribute(kb, make_evidence(techniques=["T1059"]))
    check_shape(result)
    assert result["verdict"] == "insufficient evidence"


def test_shared_tooling_alone_gives_no_confident_verdict(kb: SQLiteStore) -> None:
    result = attribute(kb, make_evidence(software=["Cobalt Strike", "Mimikatz"]))
    check_shape(result)
    assert result["candidates"][0]["probability"] < 0.5
    assert result["estimative"] not in {"likely", "very likely", "almost certain"}


def test_unknown_values_are_reported_not_dropped(kb: SQLiteStore) -> None:
    result = attribute(kb, make_evidence(software=["NoSuchMalware123"], techniques=["T9999"]))
    check_shape(result)
    assert result["evidence_used"]["unresolved"]["software"] == ["NoSuchMalware123"]
    assert result["verdict"] == "insufficient evidence"


def test_estimative_bands() -> None:
    assert estimative(0.01) == "almost no chance"
    assert estimative(0.5) == "roughly even chance"
    assert estimative(0.7) == "likely"
    assert estimative(0.99) == "almost certain"


def _country(code: str, text: str, sentence: str) -> dict[str, Any]:
    return {"id": code, "mentions": [{"text": text, "sentence": sentence}]}


@pytest.mark.parametrize(
    ("text", "sentence", "victim"),
    [
        ("Taiwan", "The group compromised three semiconductor firms in Taiwan.", True),
        ("Ukraine", "Sandworm's attack on Ukraine's power grid in 2015.", True),
        ("Germany", "Lures in German targeted ministries in Germany and Austria.", True),
        ("Chinese", "Chinese threat actors targeted telecoms in the region.", False),
        ("Iran", "The campaign against Israel is linked to Iran by the researchers.", False),
        ("Russia", "Russia-based operators compromised the software vendor.", False),
        ("China", "China has invested in the port of Piraeus since 2016.", False),
        ("North Korea", "Lazarus, attributed to North Korea, targeted banks.", False),
    ],
)
def test_a_country_is_a_victim_only_where_the_report_says_so(
    text: str, sentence: str, victim: bool
) -> None:
    assert victim_countries([_country("XX", text, sentence)]) == (["XX"] if victim else [])


def test_evidence_from_summary_and_bundle() -> None:
    summary = {
        "techniques": [{"id": "T1190", "name": "Exploit Public-Facing Application"}],
        "cves": ["CVE-2021-44228"],
        "iocs": [{"type": "ipv4", "value": "203.0.113.5", "warninglists": []}],
        "malware": [{"id": "malware--x", "name": "ShadowPad"}],
        "sectors": [{"id": "semiconductors"}],
        "countries": [
            _country("TW", "Taiwan", "The implant targeted chip makers in Taiwan."),
            _country("CN", "Chinese", "Chinese state-sponsored actors targeted chip makers."),
        ],
    }
    evidence = evidence_from_summary(summary)
    assert evidence.techniques == ["T1190"]
    assert evidence.software == ["ShadowPad"]
    assert evidence.cves == ["CVE-2021-44228"]
    assert evidence.victim_countries == ["TW"]
    bundle = {
        "type": "bundle",
        "objects": [
            {
                "type": "report",
                "id": "report--1",
                "published": "2024-03-01T00:00:00Z",
                "object_refs": ["attack-pattern--abc", "malware--def"],
                "x_threatscope_techniques": [{"id": "T1059.001", "confidence": 1.0}],
                "x_threatscope_sectors": ["finance"],
                "x_threatscope_countries": ["KR"],
            },
            {"type": "vulnerability", "id": "vulnerability--1", "name": "CVE-2023-1234"},
            {
                "type": "indicator",
                "id": "indicator--1",
                "indicator_types": ["malicious-activity"],
                "pattern": "[domain-name:value = 'evil.example']",
            },
            {"type": "malware", "id": "malware--2", "name": "PlugX"},
        ],
    }
    evidence = evidence_from_bundle(bundle)
    assert "T1059.001" in evidence.techniques and "attack-pattern--abc" in evidence.techniques
    assert "PlugX" in evidence.software and "malware--def" in evidence.software
    assert evidence.cves == ["CVE-2023-1234"]
    assert evidence.iocs == ["evil.example"]
    assert evidence.first_seen == "2024-03-01"


def test_evaluation_metrics(kb: SQLiteStore) -> None:
    for dataset in ("attack-campaigns", "attack-reports"):
        result = evaluate_attribution(kb, dataset, seeds=(0,))
        assert result["n"] > 10
        for key in ("top1", "top3", "nexus_accuracy", "ece", "brier"):
            assert 0.0 <= result[key] <= 1.0
        assert result["top3"] >= result["top1"]
    with pytest.raises(ConfigError, match="fitted the calibration"):
        evaluate_attribution(kb, "attack-groups", seeds=(1000,))


def test_eval_command_prints_campaign_metrics(kb: SQLiteStore, raw_attack: list[dict]) -> None:
    from typer.testing import CliRunner

    from threatscope.cli import app

    by_id = {o["id"]: o for o in raw_attack}

    def live(obj: dict) -> bool:
        return not obj.get("revoked") and not obj.get("x_mitre_deprecated")

    attributed = {
        r["source_ref"]
        for r in raw_attack
        if r["type"] == "relationship"
        and r["relationship_type"] == "attributed-to"
        and r["source_ref"].startswith("campaign--")
        and r["target_ref"].startswith("intrusion-set--")
        and live(r)
        and live(by_id[r["source_ref"]])
        and live(by_id[r["target_ref"]])
    }
    result = CliRunner().invoke(
        app, ["--db", kb.location, "eval", "attribution", "--dataset", "attack-campaigns", "--json"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["n"] == len(attributed)
    assert metrics["top1"] >= metrics["baseline_jaccard"]["top1"]
    bad = CliRunner().invoke(app, ["--db", kb.location, "eval", "attribution", "--dataset", "x"])
    assert bad.exit_code == 2 and "unknown dataset 'x'" in bad.stderr


def test_actors_without_tradecraft_are_scored_as_their_nexus(kb: SQLiteStore) -> None:
    # Most MISP clusters have a nexus and victims but no techniques or software: ShadowPad
    # speaks for the Chinese ones and against the rest instead of leaving them neutral.
    mats = matrices_for(kb)
    evidence = resolve(make_evidence(software=["ShadowPad"]), mats.profiles)
    shadowpad = next(p for kind, _, _, p in score(evidence, mats).parts if kind == "software")
    neutral = build_matrices(mats.profiles, replace(mats.params, nexus_scale=None))
    before = next(p for kind, _, _, p in score(evidence, neutral).parts if kind == "software")
    blank = unprofiled(mats, "software")
    nexus = np.array([a.nexus or "" for a in mats.profiles.actors])
    chinese, russian = blank & (nexus == "CN"), blank & (nexus == "RU")
    assert chinese.sum() > 50 and russian.sum() > 10
    assert (shadowpad[chinese] > 0.5).all() and (shadowpad[russian] < -1.0).all()
    assert (before[chinese | russian] == 0).all()
    assert (shadowpad[~blank] == before[~blank]).all()  # profiled actors are untouched

    result = attribute(kb, make_evidence(software=["ShadowPad"], sectors=["semiconductors"]))
    reasons = [e["why"] for c in result["candidates"] for e in c["evidence"]]
    assert any(
        r.startswith("ShadowPad: more common among China-nexus actors than among all;")
        for r in reasons
    )


def test_software_no_actor_holds_cannot_tell_actors_apart(kb: SQLiteStore) -> None:
    mats = matrices_for(kb)
    held = (mats.m["software"] >= 1.0).any(axis=0)
    orphan = next(s for s, col in sorted(mats.vocab["software"].items()) if not held[col])
    evidence = resolve(make_evidence(software=[orphan], techniques=["T1566.001"]), mats.profiles)
    scores = score(evidence, mats)
    part = next(p for kind, item, _, p in scores.parts if kind == "software" and item == orphan)
    assessed = part[scores.assessable & (mats.n["software"] > 0)]
    assert assessed.size > 100 and np.ptp(assessed) == 0 and assessed[0] < 0
    unlevelled = build_matrices(mats.profiles, replace(mats.params, level_unheld=False))
    before = next(p for kind, item, _, p in score(evidence, unlevelled).parts if item == orphan)[
        scores.assessable & (mats.n["software"] > 0)
    ]
    assert np.ptp(before) > 1.0  # unlevelled, large profiles paid more for the same miss


def test_attribute_takes_its_parameters_and_leaves_the_shared_matrices_alone(
    kb: SQLiteStore,
) -> None:
    """A tuning run passes each setting it tries; none of them may become what later callers
    score with (bench/tune_*.py used to write the engine's private cache)."""
    evidence = make_evidence(
        software=["ShadowPad"], sectors=["semiconductors"], victim_countries=["Taiwan"]
    )
    default = attribute(kb, evidence)
    shared = matrices_for(kb)
    software_heavy = replace(Params(), weight={**Params().weight, "software": 4.0})

    tuned = attribute(kb, evidence, params=software_heavy)

    assert tuned["candidates"] != default["candidates"]
    assert matrices_for(kb) is shared
    assert shared.params == Params()
    assert attribute(kb, evidence) == default
    assert matrices_for(kb, Params()) is shared  # the defaults, spelled out, are the shared ones
    with pytest.raises(ValueError, match="matrices or params, not both"):
        attribute(kb, evidence, matrices=shared, params=software_heavy)


def test_evaluation_takes_its_parameters(kb: SQLiteStore) -> None:
    software_heavy = replace(Params(), weight={**Params().weight, "software": 4.0})
    default = evaluate_attribution(kb, "attack-campaigns")
    tuned = evaluate_attribution(kb, "attack-campaigns", params=software_heavy)
    assert tuned["brier_multiclass"] != default["brier_multiclass"]
    assert evaluate_attribution(kb, "attack-campaigns")["brier_multiclass"] == (
        default["brier_multiclass"]
    )


def test_evidence_reads_a_victim_sector_as_the_profiles_do(kb: SQLiteStore) -> None:
    """Each MISP actor's victim sectors, read as evidence, are the sectors its profile holds from
    the galaxy: the two paths map a spelling through one function (`victim_sectors`)."""
    profiles = build_profiles(kb)
    from_galaxy: dict[str, set[str]] = {}
    spellings: set[str] = set()
    for obj, source in kb.actor_object_docs():
        actor = profiles.member_actor.get(obj["id"])
        values = [v for v in obj.get("x_threatscope_target_sectors") or () if isinstance(v, str)]
        if source != "misp-galaxy" or actor is None or not values:
            continue
        spellings.update(values)
        read = resolve(make_evidence(sectors=values), profiles).items["sector"]
        from_galaxy.setdefault(actor, set()).update(read)
    held = {
        actor.id: {s for s, labels in actor.items["sector"].items() if "MISP galaxy" in labels}
        for actor in profiles.actors
        if actor.id in from_galaxy
    }
    assert held == from_galaxy
    assert len(from_galaxy) > 100 and len(spellings) > 20
