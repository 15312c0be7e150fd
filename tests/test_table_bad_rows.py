"""`import table` on imperfect tables: undated rows, `--on-bad-row`, `--rejects`, mapping keys,
and actor countries no spelling maps."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.sources.table import RejectedRow, table_to_stix

FIXTURES = Path(__file__).parent / "fixtures"
CSV = FIXTURES / "incidents.csv"
MAPPING = FIXTURES / "incidents.toml"
WINDOW = "2025-01-01..2025-12-31"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def changed_copy(tmp_path: Path, *replacements: tuple[str, str], append: str = "") -> Path:
    text = CSV.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "table.csv"
    path.write_text(text + append, encoding="utf-8")
    return path


def import_json(db: Path, table: Path, *extra: str) -> dict[str, Any]:
    result = run(db, "import", "table", str(table), "--mapping", str(MAPPING), "--json", *extra)
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_a_row_without_a_date_is_an_undated_incident(tmp_path: Path) -> None:
    table = changed_copy(tmp_path, ("INC-2,17/06/2025,", "INC-2,,"))
    db = tmp_path / "kb.db"
    result = run(db, "import", "table", str(table), "--mapping", str(MAPPING))
    assert result.exit_code == 0, result.output
    assert "6 incidents, 1 without a date" in result.stdout
    figures = orjson.loads(run(db, "landscape", "--json", "--window", WINDOW).stdout)
    # INC-2 (Volt Typhoon, China) has no date, so no window counts it.
    assert "CN" not in {row["nexus"] for row in figures["by_nexus"]}


BAD_ROWS = (
    ("17/06/2025", "2025-06-17"),  # row 2: a date in another format
    ("Cybercrime", "Mercenary"),  # row 4: an actor category nobody mapped
)
TRUNCATED = "INC-7,03/03/2025,APT29,Russia"  # row 7: the download stopped mid-row


def test_fail_stops_at_the_first_bad_row_and_writes_nothing(tmp_path: Path) -> None:
    table = changed_copy(tmp_path, *BAD_ROWS, append=TRUNCATED)
    db = tmp_path / "kb.db"
    for extra in ((), ("--on-bad-row", "fail")):
        result = run(db, "import", "table", str(table), "--mapping", str(MAPPING), *extra)
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: {table}: row 2: date '2025-06-17' does not match %d/%m/%Y\n"
        )
        assert not db.exists()


def test_skip_imports_the_good_rows_and_names_every_bad_one(tmp_path: Path) -> None:
    table = changed_copy(tmp_path, *BAD_ROWS, append=TRUNCATED)
    db = tmp_path / "kb.db"
    rejects = tmp_path / "rejects.csv"
    args = ("import", "table", str(table), "--mapping", str(MAPPING), "--on-bad-row", "skip")
    result = run(db, *args, "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert "4 incidents, 0 without a date" in result.stdout
    assert result.stdout.endswith(
        "Skipped 3 bad rows:\n"
        "  row 2: date '2025-06-17' does not match %d/%m/%Y\n"
        "  row 4: unknown actor category 'Mercenary'\n"
        "  row 7: wrong number of cells for the header (4, not 13)\n"
    )
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["row"], r["reason"]) for r in rows] == [
        ("2", "date '2025-06-17' does not match %d/%m/%Y"),
        ("4", "unknown actor category 'Mercenary'"),
        ("7", "wrong number of cells for the header (4, not 13)"),
    ]
    assert rows[0]["content"].startswith("INC-2,2025-06-17,Volt Typhoon,China,")
    assert rows[2]["content"] == TRUNCATED
    report = import_json(tmp_path / "other.db", table, "--on-bad-row", "skip")
    assert report["skipped"] == [{"row": r.row, "reason": r.reason} for r in _rejected(table)]
    assert report["incidents"]["incidents"] == 4


def _rejected(table: Path) -> list[RejectedRow]:
    from threatscope.sources.table import load_table

    rejects: list[RejectedRow] = []
    load_table(table, MAPPING, rejects)
    return rejects


def test_bad_options_exit_2_before_anything_is_written(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    table = ("import", "table", str(CSV), "--mapping", str(MAPPING))
    for args, message in (
        ((*table, "--on-bad-row", "ignore"), "--on-bad-row 'ignore': expected 'fail' or 'skip'"),
        ((*table, "--rejects", str(tmp_path / "r.csv")), "--rejects needs --on-bad-row skip"),
        (
            (*table, "--on-bad-row", "skip", "--rejects", str(tmp_path / "no" / "r.csv")),
            "cannot write the rejects file there",
        ),
        (
            ("import", "kev", str(CSV), "--on-bad-row", "skip"),
            "source 'kev' takes no --on-bad-row skip",
        ),
    ):
        result = run(db, *args)
        assert result.exit_code == 2, args
        assert message in result.stderr, result.stderr
        assert not db.exists()


def test_mapping_keys_nobody_reads_are_errors_naming_the_key(tmp_path: Path) -> None:
    base = MAPPING.read_text(encoding="utf-8")
    for extra, message in (
        ('\n[value.sector]\n"Frontier AI" = "ai"\n', "unknown key(s) 'value'"),
        ('\ncolumn = "x"\n', "unknown key(s) 'column'"),
        ('\n[defaults]\nactor_categroy = "x"\n', "[defaults]: unknown field 'actor_categroy'"),
        ('\n[values.sectors]\n"x" = "y"\n', "[values.sectors]: unknown field 'sectors'"),
    ):
        mapping = tmp_path / "m.toml"
        # Top-level keys must come before the first table to stay top-level.
        text = extra + base if not extra.lstrip().startswith("[") else base + extra
        mapping.write_text(text, encoding="utf-8")
        result = run(tmp_path / "kb.db", "import", "table", str(CSV), "--mapping", str(mapping))
        assert result.exit_code == 2, extra
        assert result.stderr.startswith(f"error: {mapping}: "), result.stderr
        assert message in result.stderr, result.stderr


def test_actor_countries_that_map_to_nothing_are_listed(tmp_path: Path) -> None:
    table = changed_copy(
        tmp_path,
        ("Lazarus Group,\"Korea, Democratic People's Republic of\"", "Lazarus Group,Pyongyang"),
        ("Volt Typhoon,China", "Volt Typhoon,\"Korea (the Democratic People's Republic of)\""),
    )
    db = tmp_path / "kb.db"
    result = run(db, "import", "table", str(table), "--mapping", str(MAPPING))
    assert result.exit_code == 0, result.output
    assert "Actor countries that name no country: 'Pyongyang' (1)" in result.stdout
    figures = orjson.loads(run(db, "landscape", "--json", "--window", WINDOW).stdout)
    assert figures["unmapped"]["actor_countries"] == [{"value": "Pyongyang", "incidents": 1}]
    by_nexus = {row["nexus"]: row["count"] for row in figures["by_nexus"]}
    # Volt Typhoon's row now says KP the ISO way; Lazarus's "Pyongyang" is unknown, and listed.
    assert by_nexus["KP"] == 1 and by_nexus["unknown"] == 1 and "CN" not in by_nexus


def test_skip_leaves_a_re_import_unchanged(tmp_path: Path) -> None:
    table = changed_copy(tmp_path, *BAD_ROWS, append=TRUNCATED)
    db = tmp_path / "kb.db"
    import_json(db, table, "--on-bad-row", "skip")
    report = import_json(db, table, "--on-bad-row", "skip")
    assert (report["added"], report["updated"], report["unchanged"]) == (0, 0, 18)


MAPPING_DICT = {
    "columns": {"date": "when", "actor_country": "from", "actor_category": "cat"},
    "split": {},
    "values": {},
    "defaults": {},
}
_CELL = st.sampled_from(["2025-01-02", "2025-13-01", "", "2024", "state", "Russia", "x,y", "\n"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(_CELL, min_size=1, max_size=5), min_size=1, max_size=12))
def test_every_row_is_either_imported_or_rejected_with_its_number(rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["when", "from", "cat"])
    writer.writerows(rows)
    rejects: list[RejectedRow] = []
    objects = table_to_stix(buffer.getvalue(), "t.csv", MAPPING_DICT, rejects)
    incidents = [o for o in objects if o["type"] == "incident"]
    numbers = [i["x_threatscope_source_row"]["row"] for i in incidents] + [r.row for r in rejects]
    assert sorted(numbers) == list(range(1, len(rows) + 1))
    good_dates, good_categories = {"2025-01-02", "2024", "", "\n"}, {"state", "", "\n"}
    for number, cells in enumerate(rows, start=1):
        bad = len(cells) != 3 or cells[0] not in good_dates or cells[2] not in good_categories
        assert bad == (number in {r.row for r in rejects}), cells
