"""`import table` on hostile tables and mappings (issue 11, item 11): ids used by two rows,
wrongly typed mapping values, incidents dated before 1970, cells past the csv module's limit."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.stix import validate_object

MAPPING = '[columns]\nid = "ref"\ndate = "seen"\nactor = "group"\ndescription = "notes"\n'


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def one_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def write_table(tmp_path: Path, rows: str, mapping: str = MAPPING) -> tuple[Path, Path]:
    table, mapping_path = tmp_path / "table.csv", tmp_path / "map.toml"
    table.write_text("ref,seen,group,notes\n" + rows, encoding="utf-8")
    mapping_path.write_text(mapping, encoding="utf-8")
    return table, mapping_path


SHARED_ID = "A,2025-01-01,APT28,\nA,2025-02-01,APT29,\nA,2025-03-01,Turla,\n"


def test_a_second_row_with_an_id_is_a_bad_row(tmp_path: Path) -> None:
    """Before: "3 incidents" printed, 1 stored, nothing said."""
    table, mapping = write_table(tmp_path, SHARED_ID)
    db = tmp_path / "kb.db"
    result = run(db, "import", "table", str(table), "--mapping", str(mapping))
    assert one_line(result) == f"error: {table}: row 2: id 'A' already used by row 1"
    assert not db.exists()


def test_skip_keeps_the_first_row_of_an_id_and_lists_the_others(tmp_path: Path) -> None:
    table, mapping = write_table(tmp_path, SHARED_ID)
    db = tmp_path / "kb.db"
    args = ("import", "table", str(table), "--mapping", str(mapping), "--on-bad-row", "skip")
    result = run(db, *args, "--json")
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert summary["incidents"]["incidents"] == 1
    assert summary["skipped"] == [
        {"row": 2, "reason": "id 'A' already used by row 1"},
        {"row": 3, "reason": "id 'A' already used by row 1"},
    ]
    stats = orjson.loads(run(db, "stats", "--json").stdout)
    assert stats["objects"]["incident"] == 1


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        ("[colums]\nid = 1\n", "unknown key(s) 'colums'; known: columns, split, values, defaults"),
        ("[split]\nactor = 1\n", "[split] actor must be a non-empty string, got 1"),
        ('[split]\nactor = ""\n', "[split] actor must be a non-empty string, got ''"),
        (
            'delimiter = ";;"\n',
            "[columns] delimiter ';;': expected one character (not a quote or a line break)",
        ),
        ("encoding = 5\n", "[columns] encoding must be a string, got 5"),
        ('encoding = "hex"\n', "[columns] encoding 'hex': not a known text encoding"),
        # Found by the fuzz run: codecs raise ValueError on a NUL in the name.
        ('encoding = "\\u0000"\n', "[columns] encoding '\\x00': not a known text encoding"),
        ('format = "xml"\n', "[columns] format 'xml': expected one of csv, tsv, jsonl"),
        ("date_format = 5\n", "[columns] date_format must be a string, got 5"),
        ("title = 3\n", "[columns] title must be a string, got 3"),
        (
            '[values.actor]\nAPT28 = ["a"]\n',
            "[values.actor] 'APT28' must map to a string or a whole number, got ['a']",
        ),
        (
            "[defaults]\nactor = true\n",
            "[defaults] actor must be a string or a whole number, got True",
        ),
    ],
)
def test_a_wrongly_typed_mapping_value_is_an_error_naming_the_key(
    tmp_path: Path, addition: str, message: str
) -> None:
    """Before: `[split] sector = 1`, `delimiter = ";;"`, `encoding = 5` and `date_format = 5`
    ended in an internal error; `format = "xml"` and `title = 3` were silently ignored."""
    table, mapping = write_table(tmp_path, "A,2025-01-01,APT28,\n", MAPPING + addition)
    db = tmp_path / "kb.db"
    result = run(db, "import", "table", str(table), "--mapping", str(mapping))
    assert one_line(result) == f"error: {mapping}: {message}"
    assert not db.exists()


def test_whole_numbers_are_accepted_where_a_cell_would_be(tmp_path: Path) -> None:
    mapping = MAPPING + 'confidence = "conf"\n[defaults]\nconfidence = 80\n'
    table, mapping_path = write_table(tmp_path, "A,2025-01-01,APT28,\n", mapping)
    table.write_text("ref,seen,group,notes,conf\nA,2025-01-01,APT28,,\n", encoding="utf-8")
    db = tmp_path / "kb.db"
    result = run(db, "import", "table", str(table), "--mapping", str(mapping_path))
    assert result.exit_code == 0, result.output
    exported = tmp_path / "export.json"
    assert run(db, "export", "stix", "-o", str(exported), "--type", "relationship").exit_code == 0
    relationships = orjson.loads(exported.read_bytes())["objects"]
    assert [
        r["confidence"] for r in relationships if r["relationship_type"] == "attributed-to"
    ] == [80]


def test_incidents_before_1970_export_to_a_bundle_we_import(tmp_path: Path) -> None:
    """Before: relationships `created` 1970 but `modified` 1969, which `import stix` refused."""
    table, mapping = write_table(tmp_path, "A,1965-03-01,APT1,\nB,1969-12-31,APT2,\n")
    db = tmp_path / "kb.db"
    assert run(db, "import", "table", str(table), "--mapping", str(mapping)).exit_code == 0
    exported = tmp_path / "export.json"
    assert run(db, "export", "stix", "-o", str(exported)).exit_code == 0
    objects = orjson.loads(exported.read_bytes())["objects"]
    assert len(objects) == 10  # per row: incident, threat-actor, victim, 2 relationships
    assert [validate_object(obj) for obj in objects] == [None] * len(objects)
    again = run(tmp_path / "again.db", "import", "stix", str(exported))
    assert again.exit_code == 0, again.output


def test_eurepoc_incidents_before_1970_export_cleanly(tmp_path: Path) -> None:
    export = tmp_path / "eurepoc.csv"
    export.write_text(
        "start_date,incident_type,receiver_country,receiver_category,initiator_country,"
        "initiator_category\n1968-05-01,Data theft,Germany,State institutions,Russia,State\n",
        encoding="utf-8",
    )
    db = tmp_path / "kb.db"
    assert run(db, "import", "eurepoc", str(export)).exit_code == 0
    exported = tmp_path / "export.json"
    assert run(db, "export", "stix", "-o", str(exported)).exit_code == 0
    assert run(tmp_path / "again.db", "import", "stix", str(exported)).exit_code == 0


@pytest.fixture
def default_csv_limit() -> Iterator[None]:
    """The csv module's limit is process-wide (EuRepoC's importer raises it): start from the
    default, as a fresh `threatscope import table` does."""
    before = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(before)


@pytest.mark.usefixtures("default_csv_limit")
def test_a_cell_past_the_csv_module_limit_is_read(tmp_path: Path) -> None:
    """The csv module stops at 131,072 characters a cell; a long description is data."""
    long = "x" * 200_000
    table, mapping = write_table(tmp_path, f"A,2025-01-01,APT28,{long}\n")
    db = tmp_path / "kb.db"
    result = run(db, "import", "table", str(table), "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    exported = tmp_path / "export.json"
    assert run(db, "export", "stix", "-o", str(exported), "--type", "incident").exit_code == 0
    (incident,) = orjson.loads(exported.read_bytes())["objects"]
    assert incident["description"] == long
