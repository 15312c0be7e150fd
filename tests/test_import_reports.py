"""`threatscope import reports`: hand-written reports (examples/reports) become incidents
with exactly the fields their text states, and the landscape reads them."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.sources.report_incidents import report_date, report_files

FIXTURES = Path(__file__).resolve().parent.parent / "examples" / "reports"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, enterprise_path: Path) -> Path:
    db = tmp_path_factory.mktemp("reports") / "kb.db"
    assert run(db, "import", "attack", str(enterprise_path)).exit_code == 0
    assert run(db, "import", "misp-galaxy").exit_code == 0
    result = run(db, "import", "reports", str(FIXTURES), "--json")
    assert result.exit_code == 0, result.output
    return db


def incidents(db: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT json FROM objects WHERE type = 'incident'").fetchall()
    found = [orjson.loads(json) for (json,) in rows]
    return {Path(i["x_threatscope_source_row"]["file"]).name: i for i in found}


def summary(incident: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": incident["x_threatscope_first_seen"],
        "victims": [(v["country"], v["sectors"]) for v in incident["x_threatscope_victims"]],
        "initiators": [
            (i["name"], i["country"], i["category"]) for i in incident["x_threatscope_initiators"]
        ],
        "techniques": [t["value"] for t in incident["x_threatscope_techniques"]],
        "initial_access": incident["x_threatscope_initial_access"],
        "cves": incident["x_threatscope_cves"],
    }


def test_named_actor_report_gives_every_field_with_its_sentence(kb: Path) -> None:
    incident = incidents(kb)["salt-typhoon-telecom.md"]
    assert incident["name"] == "Salt Typhoon breaches telecom providers"
    assert summary(incident) == {
        "date": "2025-03-12",
        "victims": [("DE", ["telecommunications"]), ("IT", ["telecommunications"])],
        "initiators": [("Salt Typhoon/Group G1045", None, "state-affiliated")],
        "techniques": ["T1190", "T1566.001"],
        "initial_access": ["T1190", "T1566.001"],
        "cves": ["CVE-2023-20198"],
    }
    evidence = incident["x_threatscope_evidence"]
    assert evidence["date"] == {
        "value": "2025-03-12",
        "confidence": 80,
        "sentence": "Published 12 March 2025.",
    }
    actor = evidence["actors"][0]
    assert actor["value"]["name"] == "Salt Typhoon" and actor["value"]["nexus"] == "CN"
    assert actor["sentence"].startswith("The intrusions are linked to Salt Typhoon")
    assert [c["value"] for c in evidence["victim_countries"]] == ["DE", "IT"]
    assert evidence["victim_countries"][0]["sentence"].startswith("Security researchers observed")
    assert evidence["iocs"] == [
        {
            "value": {"type": "domain", "value": "telecom-sync.net"},
            "confidence": 90,
            "sentence": "Command and control ran through telecom-sync[.]net.",
        }
    ]
    file_reference = incident["external_references"][1]
    assert file_reference["source_name"] == "file"
    assert file_reference["description"].endswith("salt-typhoon-telecom.md")
    assert len(file_reference["hashes"]["SHA-256"]) == 64


def test_country_written_as_attacker_and_latest_date_when_first_paragraph_has_none(
    kb: Path,
) -> None:
    incident = incidents(kb)["grid-attack.html"]
    assert summary(incident) == {
        "date": "2025-02-05",  # the latest date; 1 January 2099 is after today
        "victims": [("UA", ["electricity"])],
        "initiators": [(None, "RU", "state-affiliated")],
        "techniques": [],
        "initial_access": [],
        "cves": [],
    }
    assert incident["x_threatscope_evidence"]["date"]["confidence"] == 50


def test_undated_report_stays_undated_and_keeps_technology_sub_sectors(kb: Path) -> None:
    incident = incidents(kb)["chip-espionage.txt"]
    assert summary(incident) == {
        "date": None,  # the file's modification time is no incident date
        "victims": [("TW", ["semiconductors", "artificial-intelligence"])],
        "initiators": [],  # "No actor has been named yet"
        "techniques": [],
        "initial_access": [],
        "cves": ["CVE-2024-3400"],
    }


def test_landscape_source_reports_answers_which_nexus_targets_technology(kb: Path) -> None:
    result = run(
        kb, "landscape", "--source", "reports", "--sector", "technology",
        "--window", "2024-01-01..2025-12-31", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    landscape = orjson.loads(result.stdout)
    assert landscape["incidents"] == 1
    assert [(n["nexus"], n["count"]) for n in landscape["by_nexus"]] == [("CN", 1)]


def test_reimporting_the_same_reports_changes_nothing(kb: Path) -> None:
    result = run(kb, "import", "reports", *map(str, sorted(FIXTURES.iterdir())), "--json")
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["added"] == report["updated"] == 0
    assert report["incidents"]["incidents"] == 3 and report["incidents"]["undated"] == 1


def test_sources_lists_reports(tmp_path: Path) -> None:
    result = run(tmp_path / "unused.db", "sources", "--json")
    assert "reports" in orjson.loads(result.stdout)


# -- bad input: exit 2, one line naming the file, nothing written ------------------------------


def _fails_cleanly(db: Path, args: list[str], expected: str) -> None:
    result = run(db, "import", "reports", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not db.exists()


def test_unreadable_file_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"abc\x00def")
    _fails_cleanly(
        tmp_path / "kb.db", [str(FIXTURES / "chip-espionage.txt"), str(binary)],
        f"{binary}: binary data, not text",
    )  # fmt: skip


def test_missing_path_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    _fails_cleanly(tmp_path / "kb.db", [str(missing)], f"{missing}: no such file or directory")


def test_unsupported_file_named_exits_2(tmp_path: Path) -> None:
    document = tmp_path / "report.docx"
    document.write_bytes(b"PK")
    _fails_cleanly(tmp_path / "kb.db", [str(document)], "unsupported file type '.docx'")


def test_directory_without_reports_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _fails_cleanly(tmp_path / "kb.db", [str(tmp_path / "empty")], "no report files")


def test_no_path_exits_2(tmp_path: Path) -> None:
    _fails_cleanly(tmp_path / "kb.db", [], "source 'reports' needs a PATH")


def test_other_sources_take_one_path(tmp_path: Path) -> None:
    result = run(tmp_path / "kb.db", "import", "kev", "a.json", "b.json")
    assert result.exit_code == 2
    assert "source 'kev' takes one PATH" in result.stderr


def test_directories_are_walked_for_report_suffixes_only(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.md", "sub/b.PDF", "sub/c.html", "notes.json", "sub/d.docx"):
        (tmp_path / name).write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in report_files([tmp_path])]
    assert found == ["a.md", "sub/b.PDF", "sub/c.html"]


# -- the date rule -------------------------------------------------------------------------------

TODAY = date(2026, 1, 15)


def test_first_paragraph_date_wins_over_later_ones() -> None:
    text = "Title\n\nOn 2 May 2023 the agency published an advisory about a long campaign.\n\n"
    text += "Activity continued until 2025-10-01."
    found = report_date(text, TODAY)
    assert found is not None and (found.value, found.confidence) == ("2023-05-02", 80)


def test_latest_date_not_after_today_else_undated() -> None:
    text = "A campaign was seen on March 3, 2021 and again on 2025-12-30, and on 2027-01-01."
    found = report_date("Title line\n\n" + "words " * 20 + "\n\n" + text, TODAY)
    assert found is not None and (found.value, found.confidence) == ("2025-12-30", 50)
    assert report_date("Nothing dated here; 31 February 2024 is no day.", TODAY) is None
    assert report_date("Planned for 1 March 2030.", TODAY) is None


@given(st.text(max_size=300))
def test_report_date_is_never_after_today(text: str) -> None:
    found = report_date(text, TODAY)
    assert found is None or date.fromisoformat(found.value) <= TODAY


# -- the actor rule ------------------------------------------------------------------------------


def _read(kb: Path, text: str) -> Any:
    from threatscope.extract.entities import build_gazetteer
    from threatscope.sources.report_incidents import report_incident
    from threatscope.store import open_store

    with open_store(kb, create=False, read_only=True) as store:
        return report_incident(text, "note.txt", "0" * 64, build_gazetteer(store), store)


def test_actor_named_as_the_doer_counts_at_lower_confidence(kb: Path) -> None:
    read = _read(kb, "The hacking group APT28 defaced the websites of ministries in Georgia.")
    assert [(a.value["name"], a.value["nexus"], a.confidence) for a in read.actors] == [
        ("APT28", "RU", 40)
    ]
    assert [(c.value, c.confidence) for c in read.countries] == [("GE", 70)]
    assert [s.value for s in read.sectors] == ["government-national"]
    assert read.nexus() == "RU"


def test_actor_named_only_in_contrast_is_no_attribution(kb: Path) -> None:
    read = _read(kb, "Unlike APT28, this new cluster stole data from banks in Brazil.")
    assert read.actors == [] and read.nexus() is None
    # "stole data from" is no targeting word of the victim rule: named, so less sure.
    assert [(s.value, s.confidence) for s in read.sectors] == [("banking", 40)]
    assert [(c.value, c.confidence) for c in read.countries] == [("BR", 40)]


_WORDS = [
    "a", "b", " ", ".", ",", "-", "\n", "Russian ", "linked to ", "Iran", "banks ", "in France",
    "unlike ", "targeted ", "CVE-2024-1234 ", "12 May 2024", "2023-02-30 ", "APT28",
]  # fmt: skip
_PROSE = st.lists(st.sampled_from(_WORDS), max_size=40).map("".join)


@settings(deadline=None)  # the first example builds the gazetteer
@given(_PROSE)
def test_any_prose_reads_without_error_and_each_finding_quotes_the_text(text: str) -> None:
    from threatscope.sources.report_incidents import report_incident

    read = report_incident(text, "x.txt", "0" * 64, _gazetteer(), None, today=TODAY)
    flat = " ".join(text.split())
    for finding in [*read.countries, *read.sectors, *read.attacker_countries, *read.cves]:
        assert finding.sentence in flat
    assert read.day is None or date.fromisoformat(read.day.value) <= TODAY


def _gazetteer() -> Any:
    from threatscope.extract.entities import build_gazetteer

    global _GAZETTEER
    if _GAZETTEER is None:
        _GAZETTEER = build_gazetteer(None)
    return _GAZETTEER


_GAZETTEER: Any = None


def test_report_suffixes_are_ones_extract_reads() -> None:
    from threatscope.extract.text import SUFFIXES
    from threatscope.sources.reports import REPORT_SUFFIXES

    assert REPORT_SUFFIXES <= SUFFIXES
