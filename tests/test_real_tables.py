"""Two real public incident tables (not EuRepoC) through `import table --mapping`, with the nexus
shares of `landscape --json` recounted from the raw CSV by this file alone (csv module and a
country table typed here), so a mistake in the importer or in `countries` cannot hide itself.

The tables and their sources are described in tests/data/tables/README.md.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from threatscope.cli import app

TABLES = Path(__file__).parent / "data" / "tables"
CFR = TABLES / "cfr-cyber-operations-2023-02.csv"
CFR_MAPPING = TABLES / "cfr-cyber-operations.toml"
UKRAINE = TABLES / "ukraine-war-cyber-corpus.csv"
UKRAINE_MAPPING = TABLES / "ukraine-war-cyber-corpus.toml"

# Every sponsor / actor country the two files write, by hand. Absent: not a country (cells
# shifted into the Sponsor column by broken quoting in CFR's export, "Undetermined", …).
COUNTRIES = {
    "Australia": "AU", "Bahrain": "BH", "Belarus": "BY", "Brazil": "BR", "Bulgaria": "BG",
    "Canada": "CA", "China": "CN", "Egypt": "EG", "El Salvador": "SV", "Ethiopia": "ET",
    "France": "FR", "Germany": "DE", "Ghana": "GH", "Hong Kong": "HK", "India": "IN",
    "Indonesia": "ID", "Iran": "IR", "Iran (Islamic Republic of)": "IR", "Israel": "IL",
    "Japan": "JP", "Jordan": "JO", "Kazakhstan": "KZ",
    "Korea (Democratic People's Republic of)": "KP", "Korea (Republic of)": "KR",
    "Lebanon": "LB", "Lithuania": "LT", "Mexico": "MX", "Morocco": "MA", "Myanmar": "MM",
    "Netherlands": "NL", "New Zealand": "NZ", "Pakistan": "PK", "Palestine": "PS",
    "Panama": "PA", "Poland": "PL", "Russian Federation": "RU", "Saudi Arabia": "SA",
    "South Sudan": "SS", "Spain": "ES", "Syrian Arab Republic": "SY", "Taiwan": "TW",
    "Thailand": "TH", "The Philippines": "PH", "Togo": "TG", "Turkey": "TR", "Uganda": "UG",
    "Ukraine": "UA", "United Arab Emirates": "AE", "United Kingdom": "GB",
    "United States": "US", "United States of America": "US", "Uzbekistan": "UZ",
    "Vietnam": "VN",
}  # fmt: skip


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def import_table(db: Path, table: Path, mapping: Path, *extra: str) -> dict[str, Any]:
    result = run(
        db, "import", "table", str(table), "--mapping", str(mapping), "--json", *extra
    )
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def landscape_counts(db: Path, window: str) -> tuple[int, dict[str, int], dict[str, float]]:
    result = run(db, "landscape", "--json", "--window", window)
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.stdout)
    counts = {row["nexus"]: row["count"] for row in figures["by_nexus"]}
    shares = {row["nexus"]: row["share"] for row in figures["by_nexus"]}
    return figures["incidents"], counts, shares


def recount(nexuses: list[set[str]]) -> tuple[int, dict[str, int], dict[str, float]]:
    """Counting rule of the README: an incident counts once under each nexus it has;
    `unknown` only when it has no other."""
    counts: Counter[str] = Counter()
    for found in nexuses:
        counts.update(found or {"unknown"})
    total = len(nexuses)
    return total, dict(counts), {n: round(c / total, 6) for n, c in counts.items()}


def cfr_nexuses(first: date, last: date) -> list[set[str]]:
    nexuses = []
    with CFR.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["Date"]:
                continue
            day = datetime.strptime(row["Date"], "%m/%d/%Y").date()
            if not first <= day <= last:
                continue
            # "Palestine, State of" is one sponsor; other commas join several.
            cell = row["Sponsor"].replace("Palestine, State of", "Palestine")
            names = [name.strip() for name in cell.split(",") if name.strip()]
            nexuses.append({COUNTRIES[n] for n in names if n in COUNTRIES})
    return nexuses


def ukraine_nexuses(first: date, last: date) -> list[set[str]]:
    nexuses = []
    with UKRAINE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = row["date"]
            day = date(int(text[:4]), int(text[5:7] or 1), int(text[8:10] or 1))
            # Only state actors count in the default landscape (state and state-affiliated).
            if not first <= day <= last or not row["actor_type"].startswith("state_"):
                continue
            code = COUNTRIES.get(row["actor_country"])
            nexuses.append({code} if code else set())
    return nexuses


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2005, 1, 1), date(2023, 12, 31)), (date(2020, 1, 1), date(2020, 12, 31))],
)
def test_cfr_tracker_nexus_shares_match_a_recount_of_the_raw_file(
    tmp_path: Path, first: date, last: date
) -> None:
    db = tmp_path / "kb.db"
    report = import_table(db, CFR, CFR_MAPPING, "--on-bad-row", "skip")
    assert report["skipped"] == []
    assert report["incidents"]["incidents"] == 768
    assert report["incidents"]["undated"] == 15
    window = f"{first.isoformat()}..{last.isoformat()}"
    expected = recount(cfr_nexuses(first, last))
    assert landscape_counts(db, window) == expected
    total, counts, _ = expected
    if first.year == 2005:
        # The figures a reader can check against the tracker's own site.
        assert total == 753
        assert (counts["CN"], counts["RU"], counts["IR"], counts["KP"]) == (262, 154, 96, 77)
        assert counts["unknown"] == 46


def test_cfr_cells_that_name_no_country_are_listed_not_folded_into_unknown(
    tmp_path: Path,
) -> None:
    db = tmp_path / "kb.db"
    report = import_table(db, CFR, CFR_MAPPING, "--on-bad-row", "skip")
    # Rows whose quoting broke shift a Type or Category value into the Sponsor column.
    listed = {"Espionage": 3, "Government": 2, "Military": 1, "Defacement": 1, 'United Kingdom"': 1}
    assert report["incidents"]["actors_without_country"] == listed
    result = run(db, "landscape", "--json", "--window", "2005-01-01..2023-12-31")
    unmapped = orjson.loads(result.stdout)["unmapped"]["actor_countries"]
    assert {row["value"]: row["incidents"] for row in unmapped} == listed


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2015, 1, 1), date(2026, 12, 31)), (date(2023, 1, 1), date(2023, 6, 30))],
)
def test_ukraine_war_corpus_nexus_shares_match_a_recount_of_the_raw_file(
    tmp_path: Path, first: date, last: date
) -> None:
    db = tmp_path / "kb.db"
    report = import_table(db, UKRAINE, UKRAINE_MAPPING, "--on-bad-row", "skip")
    assert report["skipped"] == []
    assert report["incidents"]["incidents"] == 453
    # ISO/UN spellings ("Moldova (the Republic of)") place their victims.
    assert "Moldova (the Republic of)" not in report["incidents"]["victims_without_country"]
    window = f"{first.isoformat()}..{last.isoformat()}"
    expected = recount(ukraine_nexuses(first, last))
    assert landscape_counts(db, window) == expected
    if first.year == 2015:
        total, counts, _ = expected
        assert (total, counts["RU"], counts["UA"], counts["unknown"]) == (233, 163, 50, 12)


def test_a_truncated_last_line_of_a_real_table_is_skipped_and_named(tmp_path: Path) -> None:
    text = CFR.read_text(encoding="utf-8")
    cut = tmp_path / "cfr-truncated.csv"
    # A download cut off inside the last row's description.
    cut.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 60], encoding="utf-8")
    db = tmp_path / "kb.db"
    result = run(db, "import", "table", str(cut), "--mapping", str(CFR_MAPPING))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: {cut}: row 768: wrong number of cells for the header"
    ), result.stderr
    assert not db.exists()
    rejects = tmp_path / "rejects.csv"
    result = run(
        db, "import", "table", str(cut), "--mapping", str(CFR_MAPPING),
        "--on-bad-row", "skip", "--rejects", str(rejects),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "767 incidents, 14 without a date" in result.stdout  # the cut row was undated
    assert "Skipped 1 bad rows:\n  row 768: wrong number of cells for the header" in result.stdout
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["row"], r["reason"][:36]) for r in rows] == [
        ("768", "wrong number of cells for the header")
    ]
    assert rows[0]["content"].startswith(text[text.rindex("\n", 0, len(text) - 1) + 1 :][:40])
