"""Landscape figures on the real EuRepoC exports, checked against counts written here from the
raw CSV with nothing but the csv module."""

from __future__ import annotations

import ast
import csv
import hashlib
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from scipy.stats import binomtest
from typer.testing import CliRunner, Result

from conftest import new_location, shared_file
from threatscope.cli import app
from threatscope.landscape.stats import wilson_interval
from threatscope.landscape.window import Window, default_ending, parse_window, quarters_before

REDUCED = "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"
GLOBAL = "incidents/eurepoc-1.1/EuRepoC_Global_Database_1.1.csv"
STATE = {"State", "Non-state actor, state-affiliation suggested"}
# The four nexuses public reports headline, spelled as EuRepoC spells them.
NEXUS = {
    "China": "CN",
    "Russia": "RU",
    "Iran, Islamic Republic of": "IR",
    "Korea, Democratic People's Republic of": "KP",
}


def run(db: Path | str, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def landscape_json(db: Path | str, *args: str) -> dict[str, Any]:
    result = run(db, "landscape", "--json", *args)
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


@pytest.fixture(scope="module")
def reduced_db(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The reduced EuRepoC export imported on each backend."""
    db = new_location(request, backend, tmp_path_factory.mktemp("reduced"))
    result = run(db, "import", "eurepoc", str(shared_file(REDUCED)))
    assert result.exit_code == 0, result.output
    return db


def _cells(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _aligned(values: list[str], index: int) -> str | None:
    if len(values) == 1:
        return values[0]
    return values[index] if index < len(values) else None


def reduced_truth(start: date, end: date) -> tuple[int, Counter[str]]:
    """Incidents with a state or state-affiliated initiator starting in [start, end], and per
    headline nexus the incidents with such an initiator from that country."""
    total, by_nexus = 0, Counter()
    with shared_file(REDUCED).open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if not row["start_date"] or not start <= date.fromisoformat(row["start_date"]) <= end:
                continue
            countries = _cells(row["initiator_country"])
            categories = _cells(row["initiator_category"])
            state_countries = {
                _aligned(countries, i)
                for i in range(max(len(countries), len(categories)))
                if _aligned(categories, i) in STATE
            }
            if not state_countries:
                continue
            total += 1
            by_nexus.update({NEXUS[c] for c in state_countries if c in NEXUS})
    return total, by_nexus


@pytest.mark.parametrize(
    ("ending", "months"), [("2026-03-31", 12), ("2025-03-31", 12), ("2024-12-31", 6)]
)
def test_reduced_export_counts_and_nexus_shares_match_the_raw_csv(
    reduced_db: str, ending: str, months: int
) -> None:
    figures = landscape_json(reduced_db, "--ending", ending, "--months", str(months))
    window = parse_window(None, ending, months, None)
    total, by_nexus = reduced_truth(window.start, window.end)
    assert figures["window"] == {"start": window.start.isoformat(), "end": ending}
    assert figures["incidents"] == total
    counted = {row["nexus"]: row for row in figures["by_nexus"]}
    for nexus, count in by_nexus.items():
        assert counted[nexus]["count"] == count
        assert counted[nexus]["share"] == pytest.approx(count / total, abs=1e-6)
        low, high = binomtest(count, total).proportion_ci(method="wilson")
        assert counted[nexus]["ci95"] == pytest.approx([low, high], abs=1e-6)
    previous_total, _ = reduced_truth(window.previous().start, window.previous().end)
    assert figures["previous_window"]["incidents"] == previous_total


def test_default_window_is_the_latest_31_march_and_twelve_months(reduced_db: str) -> None:
    figures = landscape_json(reduced_db)
    # The export's dates end 2026-03-04 (its one 2026-12-01 is a typo, see test_landscape_checks),
    # so the latest 31 March the data covers is 2025's.
    assert figures["window"] == {"start": "2024-04-01", "end": "2025-03-31"}
    assert figures["previous_window"]["window"] == {"start": "2023-04-01", "end": "2024-03-31"}
    assert figures["filters"]["actor_categories"] == ["state", "state-affiliated"]
    assert figures["filters"]["count"] == "any"
    assert len(figures["trend"]) == 8 and figures["trend"][-1]["quarter"] == "2025-Q1"
    assert figures["headline"][0].startswith(f"{figures['by_nexus'][0]['label']} actors")


def test_trend_quarters_add_up_to_the_window(reduced_db: str) -> None:
    figures = landscape_json(reduced_db, "--ending", "2025-12-31")
    last_four = figures["trend"][-4:]
    assert sum(q["incidents"] for q in last_four) == figures["incidents"]
    for nexus in ("CN", "RU"):
        in_window = next(r["count"] for r in figures["by_nexus"] if r["nexus"] == nexus)
        assert sum(q["by_nexus"].get(nexus, {}).get("count", 0) for q in last_four) == in_window


def test_fractional_counting_makes_shares_sum_to_one(reduced_db: str) -> None:
    figures = landscape_json(reduced_db, "--count", "fractional", "--ending", "2024-03-31")
    assert figures["filters"]["count"] == "fractional"
    assert sum(row["share"] for row in figures["by_nexus"]) == pytest.approx(1.0, abs=1e-4)


def test_sector_filter_includes_sub_sectors_and_narrows_the_count(reduced_db: str) -> None:
    everything = landscape_json(reduced_db, "--ending", "2025-03-31")
    government = landscape_json(reduced_db, "--ending", "2025-03-31", "--sector", "government")
    start, end = date(2024, 4, 1), date(2025, 3, 31)
    expected = 0
    with shared_file(REDUCED).open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if not row["start_date"] or not start <= date.fromisoformat(row["start_date"]) <= end:
                continue
            if not set(_cells(row["initiator_category"])) & STATE:
                continue
            if "State institutions / political system" in row["receiver_category"]:
                expected += 1
    assert 0 < government["incidents"] == expected < everything["incidents"]


def test_unmapped_values_are_listed_not_dropped(reduced_db: str) -> None:
    figures = landscape_json(reduced_db)
    assert {"value": "State insti", "incidents": 1} in figures["unmapped"]["sectors"]
    countries = {row["value"] for row in figures["unmapped"]["countries"]}
    assert {"Eastern Europe", "North America", "United Nations"} <= countries
    assert "China" not in countries and "Europe (region)" not in countries
    result = run(reduced_db, "import", "eurepoc", str(shared_file(REDUCED)))
    assert "Unmapped sector values: 'State insti' (1)" in result.stdout


def test_global_database_counts_by_incident_id(tmp_path: Path) -> None:
    path = shared_file(GLOBAL)
    db = tmp_path / "kb.db"
    assert run(db, "import", "eurepoc", str(path)).exit_code == 0
    csv.field_size_limit(1 << 30)
    start, end = date(2021, 4, 1), date(2022, 3, 31)
    ids, china = set(), set()
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if not row["start_date"] or not start <= date.fromisoformat(row["start_date"]) <= end:
                continue
            countries = ast.literal_eval(row["initiator_country"] or "[]")
            categories = ast.literal_eval(row["initiator_category"] or "[]")
            subcodes = ast.literal_eval(row["initiator_category_subcode"] or "[]")
            for i in range(max(len(countries), len(categories))):
                category, sub = _aligned(categories, i), _aligned(subcodes, i) or ""
                if category in STATE or "state-affiliation suggested" in sub:
                    ids.add(row["ID"])
                    if _aligned(countries, i) == "China":
                        china.add(row["ID"])
    figures = landscape_json(db, "--window", f"{start}..{end}")
    assert figures["incidents"] == len(ids) == 48
    assert next(r["count"] for r in figures["by_nexus"] if r["nexus"] == "CN") == len(china)


def test_bad_row_exits_2_names_the_row_and_writes_nothing(tmp_path: Path) -> None:
    lines = shared_file(REDUCED).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[7] = "2025-13-45" + lines[7][len("2026-03-04") :]  # data row 7
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    db = tmp_path / "kb.db"
    assert run(db, "import", "misp-galaxy").exit_code == 0
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = run(db, "import", "eurepoc", str(bad))
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: {bad}: row 7: start_date '2025-13-45' is not a date")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_not_a_eurepoc_file_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    result = run(tmp_path / "kb.db", "import", "eurepoc", str(other))
    assert result.exit_code == 2
    assert "not a EuRepoC export" in result.stderr
    assert not (tmp_path / "kb.db").exists()


def test_landscape_rejects_unknown_filters_with_exit_2(reduced_db: str) -> None:
    for args, message in (
        (("--sector", "bogus"), "unknown sector 'bogus'"),
        (("--victim-region", "atlantis"), "unknown region 'atlantis'"),
        (("--actor-category", "spies"), "unknown actor category spies"),
        (("--window", "2025-01-01"), "expected START..END"),
        (("--count", "half"), "expected 'any' or 'fractional'"),
    ):
        result = run(reduced_db, "landscape", *args)
        assert result.exit_code == 2, args
        assert message in result.stderr


def test_wilson_interval_matches_scipy_and_accepts_fractions() -> None:
    for k, n in ((0, 10), (29, 107), (107, 107), (3, 5)):
        low, high = binomtest(k, n).proportion_ci(method="wilson")
        assert wilson_interval(k, n) == pytest.approx((low, high), abs=1e-12)
    low, high = wilson_interval(2.5, 10)
    assert wilson_interval(2, 10)[0] < low < wilson_interval(3, 10)[0]
    assert high < 1


def test_windows_follow_month_ends_and_quarters() -> None:
    window = parse_window(None, "2024-02-29", 12, None)
    assert (window.start, window.end) == (date(2023, 3, 1), date(2024, 2, 29))
    assert window.previous() == Window(date(2022, 3, 1), date(2023, 2, 28), 12)
    explicit = parse_window("2025-01-01..2025-01-10", None, 12, None)
    assert explicit.previous() == Window(date(2024, 12, 22), date(2024, 12, 31))
    assert default_ending(date(2026, 3, 30)) == date(2025, 3, 31)
    assert default_ending(date(2026, 3, 31)) == date(2026, 3, 31)
    assert [q.start.isoformat() for q in quarters_before(date(2026, 2, 1), 3)] == [
        "2025-07-01",
        "2025-10-01",
        "2026-01-01",
    ]


def test_infer_nexus_counts_every_unattributed_incident_once(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    db = new_location(request, backend, tmp_path)
    assert run(db, "import", "eurepoc", str(shared_file(REDUCED))).exit_code == 0
    assert run(db, "import", "misp-galaxy").exit_code == 0  # victimology priors
    figures = landscape_json(db, "--ending", "2026-03-31", "--infer-nexus")
    start, end = date(2025, 4, 1), date(2026, 3, 31)
    with shared_file(REDUCED).open(encoding="utf-8") as handle:
        in_window = sum(
            1
            for row in csv.DictReader(handle)
            if row["start_date"] and start <= date.fromisoformat(row["start_date"]) <= end
        )
    stated = figures["incidents"] - next(
        (r["count"] for r in figures["by_nexus"] if r["nexus"] == "unknown"), 0
    )
    inferred = figures["inferred"]
    # The reduced export's non-state categories all normalise to "unknown": every incident
    # without a stated nexus is inferred, none twice.
    assert stated + inferred["incidents"] == in_window
    total = sum(r["expected"] for r in inferred["expected_by_nexus"])
    assert total + inferred["expected_unknown"] == pytest.approx(inferred["incidents"], abs=0.5)
    assert inferred["expected_by_nexus"][0]["expected"] > 1
    assert "inferred" not in landscape_json(db, "--ending", "2026-03-31")
