"""Software names `extract` used to miss or mistype (issue 10, item 12), through the CLI where
the issue speaks of output, against a knowledge base of real ATT&CK and MISP data."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.extract.entities import build_gazetteer, find_entities
from threatscope.extract.gazetteer import Gazetteer
from threatscope.extract.iocs import extract_iocs
from threatscope.store import open_store

REPORT = """# Intrusion at a manufacturer

They also used Mimikatz and Cobalt Strike to move laterally.
The operators deployed Brute Ratel and tunnelled traffic with Plink, AnyDesk and Chisel.
Certutil was used to download payloads, and WinRAR to archive data before exfiltration.
The dropper wrote `C:\\Users\\Public\\msdrm.exe` and the key `HKCU\\Software\\Run\\msdrm`.
"""


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, enterprise_path: Path, misp_path: Path) -> Path:
    db = tmp_path_factory.mktemp("entities") / "kb.db"
    assert run(db, "import", "attack", str(enterprise_path)).exit_code == 0
    assert run(db, "import", "misp-galaxy", str(misp_path)).exit_code == 0
    return db


@pytest.fixture(scope="module")
def gazetteer(kb: Path) -> Gazetteer:
    with open_store(kb) as store:
        return build_gazetteer(store)


@pytest.fixture
def no_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No trained technique model anywhere `extract` looks."""
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def _extract(kb: Path, tmp_path: Path, text: str, *args: str) -> Result:
    path = tmp_path / "report.md"
    path.write_text(text, encoding="utf-8")
    return run(kb, "extract", str(path), *args)


def _names(found: dict[str, list[dict[str, Any]]], kind: str) -> set[str]:
    return {entity["name"] for entity in found[kind]}


def test_report_of_the_issue_through_the_cli(kb: Path, tmp_path: Path, no_model: None) -> None:
    result = _extract(kb, tmp_path, REPORT, "--json")
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    tools, malware = _names(summary, "tools"), _names(summary, "malware")
    assert tools == {
        "Mimikatz", "Brute Ratel C4", "Plink", "AnyDesk", "Chisel", "certutil", "WinRAR",
    }  # fmt: skip
    assert malware == {"Cobalt Strike"}  # ATT&CK files Cobalt Strike as malware
    brute = next(t for t in summary["tools"] if t["name"] == "Brute Ratel C4")
    assert brute["id"].startswith("tool--")  # ATT&CK's S1063, not a galaxy stub
    assert [m["text"] for m in brute["mentions"]] == ["Brute Ratel"]
    values = {(i["type"], i["value"]) for i in summary["iocs"]}
    assert ("file-path", "C:\\Users\\Public\\msdrm.exe") in values
    assert ("registry-key", "HKEY_CURRENT_USER\\Software\\Run\\msdrm") in values
    assert not any("`" in i["value"] or "`" in (i["pattern"] or "") for i in summary["iocs"])
    assert summary["prose_analysed"] is False
    terminal = _extract(kb, tmp_path, REPORT)
    assert terminal.exit_code == 0
    text = " ".join(terminal.stdout.split())
    assert "the prose was not analysed for techniques" in text
    assert "run `threatscope train`" in text
    assert "RATel" not in text and "msdrm.exe`" not in text


def test_backticks_stay_out_of_the_stix_bundle(kb: Path, tmp_path: Path, no_model: None) -> None:
    bundle = tmp_path / "out.json"
    assert _extract(kb, tmp_path, REPORT, "--bundle", str(bundle)).exit_code == 0
    patterns = [
        o["pattern"] for o in orjson.loads(bundle.read_bytes())["objects"] if "pattern" in o
    ]
    expected = (
        "[file:name = 'msdrm.exe' AND file:parent_directory_ref.path = 'C:\\\\Users\\\\Public']"
    )
    assert expected in patterns
    assert all("`" not in p for p in patterns)


_SEGMENT = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), max_codepoint=127),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_SEGMENT, min_size=1, max_size=4), _SEGMENT, st.sampled_from(["C:\\", "%TEMP%\\"]))
def test_markdown_code_quotes_do_not_change_an_indicator(
    folders: list[str], stem: str, root: str
) -> None:
    path = root + "\\".join(folders) + "\\" + stem + ".exe"
    plain = extract_iocs(f"wrote {path} to disk", warninglists_check=False)
    quoted = extract_iocs(f"wrote `{path}` to disk", warninglists_check=False)
    assert [(i.type, i.value) for i in quoted] == [(i.type, i.value) for i in plain]
    assert any(i.value == path for i in quoted)


def test_ordinary_word_names_count_where_the_context_says_software(gazetteer: Gazetteer) -> None:
    # Mimikatz is written in lower case once in ATT&CK's technique prose, which made it an
    # "ordinary word"; the context makes it software again.
    for text in (
        "They also used Mimikatz and Cobalt Strike.",  # a verb of use, and a list
        "They also used Mimikatz.",
        "Mimikatz and Cobalt Strike were found on the host.",
        "The Mimikatz tool dumped credentials.",
    ):
        assert "Mimikatz" in _names(find_entities(gazetteer, text), "tools"), text
    assert "certutil" in _names(find_entities(gazetteer, "Certutil was used to fetch it."), "tools")
    # Without such context an ordinary word stays a word.
    found = find_entities(gazetteer, "Our agent saw one lotus. One Agent was quiet on Monday.")
    assert found["malware"] == [] and found["tools"] == []


def test_indicator_words_do_not_make_a_name_ordinary(gazetteer: Gazetteer) -> None:
    text = "Remcos was configured with the C2 remcos[.]got-game[.]org:2404 in the sample."
    assert _names(find_entities(gazetteer, text), "tools") == {"Remcos"}


def test_capitals_and_identifiers_are_not_names(gazetteer: Gazetteer) -> None:
    text = (
        "It drops a .NET binary and sets REG\\_DWORD values.\n"
        "2034012 - ET TROJAN MirrorBlast Checkin\n"
    )
    found = find_entities(gazetteer, text)
    assert {"Net", "Reg"} & _names(found, "tools") == set()
    assert "Trojan" not in _names(found, "malware")
    # A name spelt in capitals still counts when written so.
    assert "Cobalt Strike" in _names(find_entities(gazetteer, "A BEACON was staged."), "malware")


def test_every_entity_has_one_type_and_attack_decides_it(kb: Path, gazetteer: Gazetteer) -> None:
    kinds: dict[str, set[str]] = defaultdict(set)
    for entries in gazetteer._by_norm.values():
        for entry in entries:
            if entry.kind in ("malware", "tool"):
                kinds[entry.key].add(entry.kind)
    assert [key for key, found in kinds.items() if len(found) > 1] == []
    with open_store(kb) as store:
        attack = dict(
            store.analytics().execute(
                "SELECT id, type FROM objects WHERE type IN ('malware', 'tool') AND revoked = 0"
            )
        )
    assert all(kinds[key] == {kind} for key, kind in attack.items() if key in kinds)
    assert len([key for key in attack if key in kinds]) == len(attack)
    # Chisel is in malpedia (malware) and the tool galaxy; Tidal, which applies ATT&CK's
    # definitions, files it as a tool.
    found = find_entities(gazetteer, "The actor tunnelled out with Chisel.")
    assert _names(found, "tools") == {"Chisel"} and found["malware"] == []
