"""Actors hold the CVEs ATT&CK, the MISP galaxy, incidents and reports link them to, and CVE
evidence, `actor show` and the landscape use those links."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import new_location
from threatscope.actors.cves import _cves, derive_links, links_by_actor, stored_links
from threatscope.attribution import attribute, make_evidence
from threatscope.attribution.calibrate import load_calibration
from threatscope.attribution.engine import matrices_for, rank
from threatscope.attribution.evaluate import iter_cases
from threatscope.attribution.evidence import resolve
from threatscope.attribution.score import score
from threatscope.cli import app
from threatscope.ingest import load_source, run_import, write_objects
from threatscope.landscape.compute import landscape
from threatscope.report.html import render_html
from threatscope.sources.kev import vulnerability_id
from threatscope.store import SQLiteStore, open_store

FIXTURES = Path(__file__).parent / "fixtures"
_CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
_HOLDERS = ("intrusion-set", "threat-actor", "campaign")
APT41 = "intrusion-set--18854f55-ac7c-4634-bd9a-352dd07613b7"
C0017 = "campaign--ba6dfa37-f401-4140-88b0-8938f2895e61"  # ATT&CK C0017, attributed to APT41
_T = "2025-05-01T00:00:00.000Z"


def _report_bundle() -> dict[str, Any]:
    """Two reports: one refs APT41 and a vulnerability; one refs C0017 and names a CVE."""
    vulnerability = {
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": vulnerability_id("CVE-2024-0012"),
        "created": _T,
        "modified": _T,
        "name": "CVE-2024-0012",
    }
    reports = [
        {
            "type": "report",
            "spec_version": "2.1",
            "id": "report--00000000-0000-4000-8000-000000000001",
            "created": _T,
            "modified": _T,
            "published": _T,
            "name": "Firewall intrusions",
            "object_refs": [APT41, vulnerability["id"]],
        },
        {
            "type": "report",
            "spec_version": "2.1",
            "id": "report--00000000-0000-4000-8000-000000000002",
            "created": _T,
            "modified": _T,
            "published": _T,
            "name": "Campaign follow-up",
            "description": "The operators exploited cve-2099-12345 in a VPN appliance.",
            "object_refs": [C0017],
        },
    ]
    return {
        "type": "bundle",
        "id": "bundle--00000000-0000-4000-8000-0000000000aa",
        "objects": [vulnerability, *reports],
    }


@pytest.fixture(scope="module")
def kb(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    enterprise_path: Path,
    misp_path: Path,
    kev_path: Path,
) -> Iterator[SQLiteStore]:
    folder = tmp_path_factory.mktemp("cves")
    bundle = folder / "reports.json"
    bundle.write_text(json.dumps(_report_bundle()))
    store = open_store(new_location(request, backend, folder))
    run_import(store, "attack", enterprise_path)
    run_import(store, "misp-galaxy", misp_path)
    run_import(store, "kev", kev_path)
    path, incidents = load_source("table", FIXTURES / "incidents.csv", FIXTURES / "incidents.toml")
    write_objects(store, "table", path, incidents)
    run_import(store, "stix", bundle)
    yield store  # type: ignore[misc]
    store.close()


def _live(obj: dict[str, Any]) -> bool:
    return not obj.get("revoked") and not obj.get("x_mitre_deprecated")


def test_attack_links_match_an_independent_recount(
    kb: SQLiteStore, raw_attack: list[dict[str, Any]]
) -> None:
    by_id = {o["id"]: o for o in raw_attack}
    expected: set[tuple[str, str, str]] = set()
    for obj in raw_attack:
        if not _live(obj):
            continue
        if obj["type"] == "relationship":
            source = by_id.get(obj["source_ref"])
            if obj["source_ref"].split("--")[0] in _HOLDERS and source and _live(source):
                for cve in _CVE.findall(obj.get("description", "")):
                    expected.add((obj["source_ref"], cve.upper(), obj["id"]))
        elif obj["type"] in _HOLDERS:
            for cve in _CVE.findall(obj.get("description", "")):
                expected.add((obj["id"], cve.upper(), obj["id"]))
    links = [link for link in stored_links(kb) if link.origin == "attack"]
    assert {(link.holder, link.cve, link.via) for link in links} == expected
    assert len(expected) == 235
    # Per group: campaigns count for the groups they are attributed to.
    attributed: dict[str, set[str]] = {}
    for obj in raw_attack:
        if (
            obj["type"] == "relationship"
            and obj["relationship_type"] == "attributed-to"
            and obj["source_ref"].startswith("campaign--")
            and _live(obj)
        ):
            attributed.setdefault(obj["source_ref"], set()).add(obj["target_ref"])
    pairs = {
        (group, cve)
        for holder, cve, _ in expected
        for group in attributed.get(holder, {holder} if holder.startswith("intrusion") else set())
    }
    found = {
        (actor, link.cve)
        for actor, held in links_by_actor(kb).items()
        for link in held
        if link.origin == "attack"
    }
    assert len(found) == len(pairs) == 189


def test_links_are_stored_and_derived_again_when_the_table_is_missing(kb: SQLiteStore) -> None:
    stored = stored_links(kb)
    assert stored == derive_links(kb)
    kinds = {link.kind for link in stored}
    assert kinds == {"relationship", "description", "incident", "report"}
    if not isinstance(kb, SQLiteStore):
        return  # only a SQLite file can predate the table (PostgreSQL's schema always had it)
    conn = kb.analytics()
    conn.execute("SAVEPOINT before_drop")
    try:
        conn.execute("DROP TABLE actor_cves")
        assert stored_links(kb) == stored  # a knowledge base from before the table
    finally:
        conn.execute("ROLLBACK TO before_drop")
        conn.execute("RELEASE before_drop")


def _show(kb: SQLiteStore, name: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["--db", kb.location, "actor", "show", name, "--json"])
    assert result.exit_code == 0, result.output
    return {row["cve"]: row for row in json.loads(result.stdout)["cves"]}


def test_actor_show_lists_cves_with_their_sources(kb: SQLiteStore) -> None:
    cves = _show(kb, "APT41")
    citrix = cves["CVE-2019-19781"]
    assert citrix["in_kev"] and citrix["known_ransomware_use"]
    assert citrix["kev_product"].startswith("Citrix Application Delivery Controller")
    labels = [s["label"] for s in citrix["sources"]]
    assert len(labels) == 2 and all(
        label.startswith("ATT&CK relationship relationship--") and label.endswith(" description")
        for label in labels
    )
    assert any("(G0096 APT41 uses T1190 Exploit Public-Facing Application)" in x for x in labels)
    # From campaign C0017 (attributed to APT41), and from the two stored reports.
    assert cves["CVE-2021-44228"]["sources"][0]["holder"] == C0017
    assert [s["label"] for s in cves["CVE-2024-0012"]["sources"]] == ["report Firewall intrusions"]
    assert [s["kind"] for s in cves["CVE-2099-12345"]["sources"]] == ["report"]
    # An incident with a named initiator and a CVE column (tests/fixtures/incidents.csv).
    apt28 = _show(kb, "APT28")["CVE-2023-23397"]
    assert any(s["label"].startswith("fixture-feed incident") for s in apt28["sources"])
    text = CliRunner().invoke(app, ["--db", kb.location, "actor", "show", "Volt Typhoon"])
    assert "CVE-2024-3400" in text.stdout and "CVE-2023-46805" in text.stdout


def _holders(kb: SQLiteStore, cve: str) -> set[str]:
    return {a.id for a in matrices_for(kb).profiles.actors if cve in a.items["cve"]}


def test_cve_evidence_moves_mass_to_the_actors_holding_it(kb: SQLiteStore) -> None:
    holders = _holders(kb, "CVE-2019-19781")
    names = {a.name for a in matrices_for(kb).profiles.actors if a.id in holders}
    assert {"APT41", "APT29", "Dragonfly"} <= names
    mats = matrices_for(kb)

    def mass(**given: list[str]) -> float:
        scores = score(resolve(make_evidence(**given), mats.profiles), mats)
        index, probs, _ = rank(scores, load_calibration())
        actors = mats.profiles.actors
        return sum(
            float(p) for i, p in zip(index, probs, strict=True) if actors[i].id in holders
        )

    before = mass(techniques=["T1190"])
    after = mass(techniques=["T1190"], cves=["CVE-2019-19781"])
    assert after > 10 * before and after > 0.25
    result = attribute(kb, make_evidence(cves=["CVE-2019-19781"]))
    top = result["candidates"][:3]
    assert {c["actor_id"] for c in top} <= holders
    reason = next(r for r in top[0]["evidence"] if r["kind"] == "cve")
    assert reason["weight"] > 0
    assert "in the actor's profile (ATT&CK G" in reason["why"]
    assert "known ransomware campaign use (not scored)" in reason["why"]


def test_landscape_names_the_known_exploiters_of_each_cve(kb: SQLiteStore) -> None:
    figures = landscape(kb, window="2025-01-01..2026-03-31")
    rows = {r["cve"]: r for r in figures["exploited_cves"]["overall"]}
    assert [a["name"] for a in rows["CVE-2023-23397"]["known_actors"]] == ["APT28"]
    assert rows["CVE-2023-23397"]["known_actors"][0]["nexus"] == "RU"
    # Volt Typhoon from the incident itself; UNC5337 from its MISP galaxy description.
    names = {a["name"] for a in rows["CVE-2023-46805"]["known_actors"]}
    assert {"Volt Typhoon", "UNC5337"} <= names
    html = render_html(figures)
    table = html[html.index('<table class="cves">') :]
    assert "<th>Known exploiters</th>" in table and "<td>APT28 (RU)</td>" in table


def test_report_protocol_holds_out_cves_with_their_sources(kb: SQLiteStore) -> None:
    mats = matrices_for(kb)
    with_cves = 0
    for case in iter_cases(mats, "attack-reports", seed=1002):
        held = case.evidence.items["cve"]
        if not held:
            continue
        with_cves += 1
        (truth,) = case.truth
        actor = mats.profiles.actors[truth]
        for cve in held:
            if case.mats.m["cve"][truth, mats.vocab["cve"][cve]] < 1.0:
                continue
            # Kept only where something besides the held-out half says so: a source without
            # citations (a MISP description), or a second cited source.
            uses = [u for u in actor.uses if u.item == cve]
            cited = {c for u in uses for c in u.citations}
            assert any(not u.citations for u in uses) or len(cited) > 1, (actor.name, cve)
    assert with_cves >= 20


@given(
    st.lists(
        st.tuples(st.integers(1999, 2030), st.integers(1, 9_999_999), st.booleans()), max_size=5
    ),
    st.text(alphabet=st.characters(blacklist_characters="0123456789-"), max_size=20),
)
def test_cves_in_text_are_found_once_each_in_order(
    ids: list[tuple[int, int, bool]], filler: str
) -> None:
    written = [f"{'cve' if lower else 'CVE'}-{year}-{number:04d}" for year, number, lower in ids]
    text = filler.join(["", *written, ""])
    assert _cves(text) == list(dict.fromkeys(w.upper() for w in written))
