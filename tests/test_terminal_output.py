"""Terminal output is data, not markup (issue 11, item 4): values from reports, tables and
feeds are printed exactly as they are, without control characters, and never crash a command."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.console import SafeConsole, clean, styled

ESC = "\x1b"
HOSTILE_NAMES = ("Evil[/]", "APT[link=https://127.0.0.1/]x[/link]", f"Hidden{ESC}]8;;http://a{ESC}\\")


def run(db: Path, *args: str) -> Result:
    # A wide terminal, so that a value is shown on one line and can be compared whole.
    return CliRunner().invoke(app, ["--db", str(db), *args], env={"COLUMNS": "400"})


@pytest.fixture
def hostile_kb(tmp_path: Path) -> Path:
    table = tmp_path / "hostile.csv"
    table.write_text(
        "id,day,actor,actor_country,category,sector,victim_country\n"
        "H-1,2025-03-01,Evil[red],[/]Russia,state,[bold]gov[/bold],Germany\n"
        f"H-2,2025-03-02,APT{ESC}[8m,Narnia{ESC}[2J,state,"
        f"{ESC}]8;;https://evil/{ESC}\\\\click{ESC}]8;;{ESC}\\\\,[/]\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[columns]\nsource = "hostile"\nid = "id"\ndate = "day"\nactor = "actor"\n'
        'actor_country = "actor_country"\nactor_category = "category"\nsector = "sector"\n'
        'victim_country = "victim_country"\n'
    )
    db = tmp_path / "kb.db"
    done = run(db, "import", "table", str(table), "--mapping", str(mapping))
    assert done.exit_code == 0, done.output
    assert ESC not in done.output
    bundle = tmp_path / "actors.json"
    bundle.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [
        {"type": "intrusion-set", "spec_version": "2.1", "id": f"intrusion-set--{uuid.uuid4()}",
         "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "name": name}
        for name in HOSTILE_NAMES
    ]}))
    done = run(db, "import", "stix", str(bundle))
    assert done.exit_code == 0, done.output
    return db


@pytest.mark.parametrize("command", [
    ("landscape", "--window", "2025-01-01..2025-12-31"),
    ("actor", "list"),
    ("actor", "show", "Evil[/]"),
    ("actor", "show", "APT[link=https://127.0.0.1/]x[/link]"),
    ("actor", "show", "Evil[red]"),
    ("imports",),
    ("stats",),
])
def test_hostile_values_print_literally_and_cleanly(
    hostile_kb: Path, command: tuple[str, ...]
) -> None:
    done = run(hostile_kb, *command)
    assert done.exit_code == 0, done.output
    assert ESC not in done.output and "\x07" not in done.output
    if command[:2] == ("actor", "list"):
        for name in (*HOSTILE_NAMES[:2], "Evil[red]", "Hidden]8;;http://a\\"):
            assert name in done.output
    if command[:2] == ("actor", "show"):
        assert command[2] in done.output


def test_unmapped_hostile_values_are_listed_as_written(hostile_kb: Path) -> None:
    done = run(hostile_kb, "import", "table", "--help")  # the knowledge base stays usable
    assert done.exit_code == 0
    result = json.loads(run(hostile_kb, "landscape", "--window", "2025-01-01..2025-12-31",
                            "--json").stdout)
    unmapped = json.dumps(result["unmapped"])
    assert "Narnia" in unmapped and "[/]" in unmapped


@pytest.mark.parametrize("url", [
    "http://evil-c2.com/a[/x]b",
    "http://evil-c2.com/[link=https://127.0.0.1/]update[/link]",
    "http://evil-c2.com/[bold]x[/bold]/y",
])
def test_extract_shows_exactly_the_extracted_value(tmp_path: Path, url: str) -> None:
    report = tmp_path / "report.txt"
    report.write_text(f"The implant beacons to {url} every hour.\n")
    db = tmp_path / "kb.db"
    as_json = run(db, "extract", str(report), "--json")
    assert as_json.exit_code == 0, as_json.output
    values = [ioc["value"] for ioc in json.loads(as_json.stdout)["iocs"] if ioc["type"] == "url"]
    assert values, as_json.stdout
    shown = run(db, "extract", str(report))
    assert shown.exit_code == 0, shown.output
    for value in values:
        assert value in shown.stdout


def test_a_file_name_is_not_markup(tmp_path: Path) -> None:
    report = tmp_path / "[red]x[link=https:a]b.txt"
    report.write_text("Nothing here.\n")
    done = run(tmp_path / "kb.db", "extract", str(report))
    assert done.exit_code == 0, done.output
    assert report.name in done.stdout


def test_control_characters_are_dropped() -> None:
    assert clean(f"a{ESC}[31mb\x07c\x9bd\u202eexe.txt\te\nf") == "a[31mbcdexe.txt\te\nf"


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_characters="\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"
                             "\u2028\u2029"), max_size=200))
def test_any_text_prints_literally_without_control_characters(text: str) -> None:
    console = SafeConsole(record=True, width=400, soft_wrap=True, color_system=None)
    with console.capture() as captured:
        console.print(text, highlight=False)
        console.print(styled("[bold]{}[/] {}", text, text), highlight=False)
    output = captured.get()
    assert ESC not in output
    cleaned = clean(text).strip()
    assert cleaned in output


def test_a_plain_console_would_have_crashed() -> None:
    """The failure mode this guards against, shown on Rich's own Console."""
    with pytest.raises(Exception, match="closing tag"):
        Console().print("http://evil-c2.com/a[/x]b")
