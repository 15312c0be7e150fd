"""`attribute --text` (issue 10, item 13): the report's own attribution is evidence, advice
names no victims, the table shows only evidence given, and the sync hint only when it helps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from threatscope.attribution.named import NAMED_LLR, named_actors
from threatscope.attribution.victims import victim_countries
from threatscope.cli import app

# No CVE in the text: since actors hold CVEs (item 14), the two Ivanti CVEs point at UNC5337,
# whose MISP description names both, and that evidence may outweigh a report's word by design
# (attribution/named.py); this text tests the named-actor rule on its own.
INTRUSION = """Ivanti Connect Secure appliances of government agencies in the United States were
compromised through a zero-day vulnerability. {sentence}
"""


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, enterprise_path: Path, misp_path: Path) -> Path:
    db = tmp_path_factory.mktemp("attribute-text") / "kb.db"
    assert run(db, "import", "attack", str(enterprise_path)).exit_code == 0
    assert run(db, "import", "misp-galaxy", str(misp_path)).exit_code == 0
    return db


@pytest.fixture(autouse=True)
def no_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("COLUMNS", "400")  # table cells on one line each


def attribute_text(kb: Path, tmp_path: Path, text: str, *args: str) -> Result:
    path = tmp_path / "report.md"
    path.write_text(text, encoding="utf-8")
    result = run(kb, "attribute", "--text", str(path), *args)
    assert result.exit_code == 0, result.output
    return result


def as_json(result: Result) -> dict[str, Any]:
    return orjson.loads(result.stdout)


def probability_of(result: dict[str, Any], actor_id: str) -> float:
    return next((c["probability"] for c in result["candidates"] if c["actor_id"] == actor_id), 0.0)


def test_an_actor_the_report_names_is_strong_evidence(kb: Path, tmp_path: Path) -> None:
    named = as_json(
        attribute_text(
            kb, tmp_path, INTRUSION.format(sentence="Mandiant linked it to UNC5221."), "--json"
        )
    )
    assert [n["as_written"] for n in named["named_actors"]] == ["UNC5221"]
    actor_id = named["named_actors"][0]["actor_id"]
    top = named["candidates"][0]
    assert top["actor_id"] == actor_id
    reason = next(e for e in top["evidence"] if e["kind"] == "named")
    assert reason == {
        "kind": "named",
        "value": "UNC5221",
        "weight": round(NAMED_LLR, 3),
        "why": "the report attributes this to UNC5221",
        "given": True,
    }
    assert named["evidence_used"]["named_actors"] == ["UNC5221"]
    # The same report without the attribution: the actor is one of many.
    plain = as_json(attribute_text(kb, tmp_path, INTRUSION.format(sentence=""), "--json"))
    assert plain["named_actors"] == []
    assert probability_of(named, actor_id) > 0.3 > 10 * probability_of(plain, actor_id)
    terminal = attribute_text(kb, tmp_path, INTRUSION.format(sentence="Tracked as UNC5221."))
    text = " ".join(terminal.stdout.split())
    assert f"the report attributes this to UNC5221 ({top['name']})" in text
    assert "the report attributes this to UNC5221 (+5.3)" in text


@pytest.mark.parametrize(
    "sentence",
    [
        "Unlike UNC5221, this actor left no web shells.",
        "The activity is not linked to UNC5221.",
        "UNC5221 exploited the same flaws in 2024.",
        "The campaign was mistakenly attributed to UNC5221.",
    ],
)
def test_an_actor_mentioned_in_passing_is_no_evidence(
    kb: Path, tmp_path: Path, sentence: str
) -> None:
    result = as_json(attribute_text(kb, tmp_path, INTRUSION.format(sentence=sentence), "--json"))
    assert result["named_actors"] == []
    assert all(e["kind"] != "named" for c in result["candidates"] for e in c["evidence"])


@pytest.mark.parametrize(
    ("sentence", "named"),
    [
        ("The intrusion has been linked to UNC5221.", True),
        ("We assess with moderate confidence that UNC5221 is behind it.", True),
        ("Microsoft tracks the actor as UNC5221.", True),
        ("The attacks were carried out by UNC5221.", True),
        ("UNC5221 is likely responsible for the intrusion.", True),
        ("Unlike UNC5221, the actor used no implants.", False),
        ("UNC5221 has targeted Ivanti before.", False),
        ("We found no evidence that links the activity to UNC5221.", False),
    ],
)
def test_attribution_phrases(sentence: str, named: bool) -> None:
    actor = {"id": "actor-x", "name": "X", "mentions": [{"text": "UNC5221", "sentence": sentence}]}
    assert named_actors([actor]) == ({"actor-x": "UNC5221"} if named else {})


def test_recommendations_name_no_victims(kb: Path, tmp_path: Path) -> None:
    text = (
        "The actor compromised organisations in Japan in 2024.\n\n"
        "Organisations in Germany should patch now. We recommend that companies in France"
        " review their VPN logs; entities in Italy are urged to rotate credentials.\n"
    )
    result = as_json(attribute_text(kb, tmp_path, text, "--json"))
    assert result["evidence_used"]["victim_countries"] == ["JP"]

    def country(code: str, name: str, sentence: str) -> dict[str, Any]:
        return {"id": code, "mentions": [{"text": name, "sentence": sentence}]}

    advice = country("DE", "Germany", "Firms in Germany are advised to patch.")
    assert victim_countries([advice]) == []
    assert victim_countries([country("DE", "Germany", "Firms in Germany were breached.")]) == ["DE"]


def test_strongest_evidence_shows_only_what_was_given(kb: Path) -> None:
    result = run(kb, "attribute", "--software", "ShadowPad", "--json")
    assert result.exit_code == 0, result.output
    reasons = [e for c in as_json(result)["candidates"] for e in c["evidence"]]
    implied = [e for e in reasons if not e["given"]]
    assert implied and all(e["kind"] == "technique" for e in implied)
    terminal = run(kb, "attribute", "--software", "ShadowPad")
    table = terminal.stdout.split("Candidates", 1)[1]
    assert "ShadowPad" in table
    assert "technique" not in table  # only techniques the software implies: not given


def test_sync_hint_only_when_attack_or_misp_is_missing(
    kb: Path, tmp_path: Path, kev_path: Path
) -> None:
    full = run(kb, "attribute", "--ioc", "203.0.113.77")
    assert full.exit_code == 0, full.output
    assert "No actor in the knowledge base can be assessed" in full.stdout
    assert "threatscope sync" not in full.stdout
    assert as_json(run(kb, "attribute", "--ioc", "203.0.113.77", "--json"))["knowledge_base"] == {
        "attack": True,
        "misp_galaxy": True,
    }
    bare = tmp_path / "kev-only.db"
    assert run(bare, "import", "kev", str(kev_path)).exit_code == 0
    lacking = run(bare, "attribute", "--ioc", "203.0.113.77")
    assert lacking.exit_code == 0, lacking.output
    assert "lacks ATT&CK and the MISP galaxy: `threatscope sync`" in " ".join(
        lacking.stdout.split()
    )
