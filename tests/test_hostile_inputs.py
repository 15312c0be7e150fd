"""Inputs that ended in exit 1 and an internal error instead of exit 2 and one line (issue 11,
item 12), some of them after the import was committed: each is refused before anything is
written, or works."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.errors import ConfigError
from threatscope.sources import base
from threatscope.sources.base import Source

FIXTURES = Path(__file__).parent / "fixtures"
STAMP = "2020-01-01T00:00:00.000Z"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def stix(kind: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--11111111-1111-4111-8111-111111111111",
        "created": STAMP,
        "modified": STAMP,
        **properties,
    }


def bundle_file(tmp_path: Path, *objects: dict[str, Any]) -> Path:
    path = tmp_path / "bundle.json"
    doc = {"type": "bundle", "id": "bundle--22222222-2222-4222-8222-222222222222"}
    path.write_bytes(orjson.dumps({**doc, "objects": list(objects)}))
    return path


@pytest.fixture(scope="module")
def incidents_kb(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("incidents") / "kb.db")
    table = ("import", "table", str(FIXTURES / "incidents.csv"))
    result = run("--db", db, *table, "--mapping", str(FIXTURES / "incidents.toml"))
    assert result.exit_code == 0, result.output
    return db


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (
            stix("intrusion-set", name="X", description=123),
            "'description' must be a string, got 123",
        ),
        (stix("intrusion-set", name=["X"]), "'name' must be a string, got ['X']"),
        (
            stix("incident", name="X", x_threatscope_victims="abc"),
            "'x_threatscope_victims' must be a list of objects whose 'name', 'country' and"
            " 'raw_country' are strings or null and 'sectors', 'raw_sectors' and"
            " 'unmapped_sectors' lists of strings, got 'abc'",
        ),
        (
            stix("incident", name="X", x_threatscope_initiators=[{"category": 5}]),
            "'x_threatscope_initiators' must be a list of objects whose 'name', 'country',"
            " 'category', 'raw_country', 'raw_category' and 'actor_ref' are strings or null,"
            " got [{'category': 5}]",
        ),
        (
            stix("threat-actor", name="X", x_threatscope_nexus_claims=[{"nexus": 7}]),
            "'x_threatscope_nexus_claims' must be a list of objects with string 'nexus', 'basis'"
            " and 'value', got [{'nexus': 7}]",
        ),
        (
            stix("vulnerability", name="CVE-2024-3400", x_kev_product=5),
            "'x_kev_product' must be a string, got 5",
        ),
        (
            stix("threat-actor", name="X", confidence=101),
            "'confidence' must be a whole number from 0 to 100, got 101",
        ),
    ],
)
def test_a_property_we_read_with_the_wrong_shape_refuses_the_bundle(
    tmp_path: Path, obj: dict[str, Any], reason: str
) -> None:
    """Before: actor resolution or the import summary crashed, `x_threatscope_victims` after
    the objects were committed (so every later import failed too)."""
    path = bundle_file(tmp_path, obj)
    db = tmp_path / "kb.db"
    result = run("--db", str(db), "import", "stix", str(path))
    assert one_line(result) == f"error: {path}: object 0 ({obj['id']}): {reason}"
    assert not db.exists()


def test_a_kev_field_of_the_wrong_type_names_the_vulnerability(tmp_path: Path) -> None:
    feed = tmp_path / "kev.json"
    entry = {"cveID": "CVE-2024-3400", "dateAdded": "2024-04-12", "vendorProject": 5}
    feed.write_bytes(
        orjson.dumps({"dateReleased": "2025-01-01T00:00:00.000Z", "vulnerabilities": [entry]})
    )
    db = tmp_path / "kb.db"
    result = run("--db", str(db), "import", "kev", str(feed))
    assert one_line(result) == (
        f"error: {feed}: vulnerability 0 (CVE-2024-3400): 'vendorProject' must be a string, got 5"
    )
    assert not db.exists()


def test_every_source_is_checked_like_a_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin (or a converter's bug) producing a mis-shaped object is refused before the
    write, not by the facts builder after it."""
    bad = stix("incident", name="X", x_threatscope_zero_day="yes")
    plugin = Source("hostile-plugin", "test", load=lambda path: [bad])
    monkeypatch.setitem(base._REGISTRY, plugin.name, plugin)
    source_file = tmp_path / "anything.txt"
    source_file.write_text("", encoding="utf-8")
    db = tmp_path / "kb.db"
    result = run("--db", str(db), "import", "hostile-plugin", str(source_file))
    assert one_line(result) == (
        f"error: {source_file}: object 0 ({bad['id']}): 'x_threatscope_zero_day' must be"
        " true, false or null, got 'yes'"
    )
    assert not db.exists()


def test_attribute_bundle_that_is_not_a_bundle(incidents_kb: str, tmp_path: Path) -> None:
    """Before: `attribute --bundle` of a JSON list was an AttributeError."""
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]", encoding="utf-8")
    result = run("--db", incidents_kb, "attribute", "--bundle", str(listed))
    assert one_line(result) == f"error: {listed}: expected a STIX bundle (a JSON object)"
    empty = bundle_file(tmp_path)
    result = run("--db", incidents_kb, "attribute", "--bundle", str(empty))
    assert one_line(result) == "error: give some evidence: --technique, --software, --text, …"


def test_attribute_bundle_with_a_mis_shaped_report(incidents_kb: str, tmp_path: Path) -> None:
    report = stix("report", name="r", published=STAMP, object_refs=[], x_threatscope_sectors=5)
    path = bundle_file(tmp_path, report)
    result = run("--db", incidents_kb, "attribute", "--bundle", str(path))
    assert one_line(result) == (
        f"error: {path}: object 0 ({report['id']}): 'x_threatscope_sectors' must be a list of"
        " strings, got 5"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ("--months", "13000"),
            "error: 0941-12-01..2025-03-31: the window before it, or the 8 quarters of its"
            " trend, would start before year 1",
        ),
        (
            ("--months", "100000000000000000000"),
            "error: --months 100000000000000000000: at most 119988 (the calendar ends at 9999)",
        ),
        (
            ("--window", "0001-01-01..0001-12-31"),
            "error: 0001-01-01..0001-12-31: the window before it, or the 8 quarters of its"
            " trend, would start before year 1",
        ),
        (
            ("--ending", "0001-06-30"),
            "error: the 12 months ending 0001-06-30 would start before year 1",
        ),
    ],
)
def test_a_window_reaching_before_year_1_is_one_line(
    incidents_kb: str, tmp_path: Path, options: tuple[str, str], message: str
) -> None:
    """Before: ValueError "year -142 is out of range", OverflowError, as internal errors."""
    assert one_line(run("--db", incidents_kb, "landscape", *options)) == message
    html = tmp_path / "report.html"
    assert one_line(run("--db", incidents_kb, "report", "-o", str(html), *options)) == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "options", [("--ending", "9999-12-31"), ("--window", "9999-01-01..9999-12-31")]
)
def test_a_window_ending_in_9999_works(incidents_kb: str, options: tuple[str, str]) -> None:
    """Before: ValueError "year 10000 is out of range" (the trend's last quarter)."""
    result = run("--db", incidents_kb, "landscape", "--json", *options)
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.stdout)
    assert figures["window"] == {"start": "9999-01-01", "end": "9999-12-31"}
    assert figures["incidents"] == 0


def test_quarters_stay_inside_the_calendar() -> None:
    from threatscope.landscape.window import Window, comparison_windows, quarters_before

    quarters = quarters_before(date(9999, 12, 31), 8)
    assert [(q.start, q.end) for q in quarters[-2:]] == [
        (date(9999, 7, 1), date(9999, 9, 30)),
        (date(9999, 10, 1), date(9999, 12, 31)),
    ]
    assert quarters[0].start == date(9998, 1, 1)
    assert [q.start for q in quarters_before(date(1, 12, 31), 4)] == [
        date(1, m, 1) for m in (1, 4, 7, 10)
    ]
    with pytest.raises(ConfigError, match="would start before year 1"):
        comparison_windows(Window(date(1, 1, 1), date(1, 12, 31)), 8)


def test_an_error_quoting_input_is_one_line(tmp_path: Path) -> None:
    """Found by the fuzz run: a galaxy actor named "\\n" printed an error over two lines."""
    galaxy = tmp_path / "threat-actor.json"
    value = {"value": "\n", "uuid": "f728b4fa-4248-5e3a-0a5d-2f346baa9455"}
    galaxy.write_bytes(orjson.dumps({"type": "threat-actor", "version": 1, "values": [value]}))
    result = run("--db", str(tmp_path / "kb.db"), "import", "misp-galaxy", str(galaxy))
    assert one_line(result) == f"error: {galaxy}: value 0 (\\n): missing 'value' (the actor name)"
