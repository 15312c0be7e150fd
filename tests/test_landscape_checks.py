"""Landscape warnings (granularity, small-n, recency, dates), the Holm adjustment and filters that
never silently empty: on the real EuRepoC reduced export where each case really occurs, with
the figures recounted from the raw CSV, and on crafted tables for the rest."""

from __future__ import annotations

import csv
import tomllib
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from conftest import ROOT, new_location, shared_file
from threatscope.cli import app
from threatscope.landscape.stats import holm

REDUCED = "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"
STATE = {"State", "Non-state actor, state-affiliation suggested"}
EUREPOC_SECTORS = (
    "Civil society, Critical infrastructure, Education, Government, Individuals and end users, "
    "International organisations, Media, Other, Private sector (corporate), Science and research"
)
DATES_RULE = (
    "Placeholder dates, dates before 1990 and dates after the latest import or more than 180 days"
    " past all the source's other dates cannot be true; they do not choose the default window."
    " Check these incidents in the source."
)
RECENCY_RULE = (
    "Latest quarters below 60% of the mean of the 4 quarters before them (Poisson p < 0.01) are"
    " very likely reporting lag: counts for them, and falls against an earlier window,"
    " understate activity."
)
SMALL_N_RULE = (
    "shares and changes are too uncertain to state, so no headline is written and shares are"
    " shown as too few to estimate."
)


def run(db: Path | str, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def landscape(db: Path, *args: str) -> dict[str, Any]:
    result = run(db, "landscape", "--json", *args)
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def warnings_of(figures: dict[str, Any], kind: str) -> list[str]:
    return [w["message"] for w in figures["warnings"] if w["kind"] == kind]


@pytest.fixture(scope="module")
def reduced_db(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    db = new_location(request, backend, tmp_path_factory.mktemp("reduced"))
    assert run(db, "import", "eurepoc", str(shared_file(REDUCED))).exit_code == 0
    return db


@pytest.fixture(scope="module")
def raw_rows() -> list[dict[str, str]]:
    with shared_file(REDUCED).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _cells(cell: str) -> set[str]:
    return {part.strip() for part in cell.split(";") if part.strip()}


def _state_count(rows: list[dict[str, str]], start: str, end: str, countries: set[str]) -> int:
    return sum(
        1
        for row in rows
        if start <= row["start_date"] <= end
        and _cells(row["initiator_category"]) & STATE
        and _cells(row["receiver_country"]) & countries
    )


# -- real data: the EuRepoC reduced export --------------------------------------------------


def test_dates_placeholder_and_after_export_do_not_move_the_default_window(
    reduced_db: str, raw_rows: list[dict[str, str]]
) -> None:
    dated = sorted(row["start_date"] for row in raw_rows if row["start_date"])
    assert dated.count("1970-01-01") == 1 and dated[-1] == "2026-12-01"
    assert dated[-2] == "2026-03-04"  # 272 days before the last: the export ends in March 2026
    figures = landscape(reduced_db)
    # The latest believable date is 2026-03-04, so the latest 31 March the data covers is 2025's
    # (the stray 2026-12-01 used to make it 2026's, a window whose last month had no data).
    assert figures["window"] == {"start": "2024-04-01", "end": "2025-03-31"}
    assert figures["warnings"] == [
        {
            "kind": "dates",
            "message": "eurepoc: 1 dated 1970-01-01 (a placeholder) and 1 dated after the export"
            " (2026-12-01; the source's other dates end 2026-03-04). " + DATES_RULE,
        }
    ]


def test_recency_flags_the_lagging_latest_quarter(
    reduced_db: str, raw_rows: list[dict[str, str]]
) -> None:
    def quarter(start: str, end: str) -> int:
        return sum(1 for row in raw_rows if start <= row["start_date"] <= end)

    latest = quarter("2026-01-01", "2026-03-31")
    trailing = [
        quarter("2025-01-01", "2025-03-31"),
        quarter("2025-04-01", "2025-06-30"),
        quarter("2025-07-01", "2025-09-30"),
        quarter("2025-10-01", "2025-12-31"),
    ]
    assert (latest, trailing) == (85, [207, 157, 167, 140])
    figures = landscape(reduced_db, "--ending", "2026-03-31")
    assert warnings_of(figures, "recency") == [
        f"eurepoc: 2026-Q1 has 85 incidents against {sum(trailing) / 4:.1f} expected (51%,"
        " one-sided Poisson p < 0.001); expected = the mean of 2025-Q1 to 2025-Q4, all of"
        " eurepoc's incidents. " + RECENCY_RULE
    ]
    # The year before has no lagging quarter: the rule does not fire on ordinary variation.
    for ending in ("2023-03-31", "2024-03-31", "2025-03-31", "2025-09-30", "2025-12-31"):
        assert warnings_of(landscape(reduced_db, "--ending", ending), "recency") == [], ending


def test_holm_adjusts_the_per_nexus_tests_and_keeps_the_raw_p(reduced_db: str) -> None:
    figures = landscape(reduced_db, "--ending", "2026-03-31")
    changes = figures["previous_window"]["changes"]
    from scipy.stats import fisher_exact

    iran = next(c for c in changes if c["nexus"] == "IR")
    # Iran rose from 5 of 107 to 14 of 76 (raw Fisher p = 0.005): "significant" before Holm,
    # not once the 14 nexuses tested are accounted for (the smallest p is multiplied by 14).
    assert (iran["count"], iran["previous_count"]) == (14, 5)
    raw_p = fisher_exact([[14, 76 - 14], [5, 107 - 5]]).pvalue
    assert iran["p_value"] == pytest.approx(raw_p, abs=1e-6) == pytest.approx(0.005468, abs=1e-6)
    assert len(changes) == 14
    assert iran["p_holm"] == pytest.approx(14 * raw_p, abs=1e-6)
    assert iran["significant"] is False
    raw = [c["p_value"] for c in changes]
    # From the rounded raw p-values: equal up to 14 times their rounding.
    assert [c["p_holm"] for c in changes] == pytest.approx(holm(raw), abs=1e-5)
    assert all(c["p_holm"] >= c["p_value"] for c in changes if c["p_value"] is not None)
    assert not any("share rose" in s or "share fell" in s for s in figures["headline"])


def test_sector_the_export_never_codes_is_a_granularity_warning_not_none(
    reduced_db: str,
) -> None:
    figures = landscape(reduced_db, "--sector", "technology")
    assert figures["incidents"] == 0
    assert warnings_of(figures, "granularity") == [
        "--sector technology: no source in the window codes victims as Technology or any of its"
        f" 7 sub-sectors (eurepoc codes top-level sectors only: {EUREPOC_SECTORS}). The count"
        " here says what the sources recorded at that level, not that there were no such"
        " incidents."
    ]
    assert figures["headline"] == []  # no "No state-sponsored incidents against technology…"
    text = run(reduced_db, "landscape", "--sector", "technology").stdout
    assert "No state-sponsored incidents" not in text
    assert "granularity: --sector technology: no source in the window codes" in text


def test_actor_category_the_export_never_uses_is_a_granularity_warning(reduced_db: str) -> None:
    figures = landscape(reduced_db, "--actor-category", "criminal")
    assert warnings_of(figures, "granularity") == [
        "--actor-category criminal: no source in the window codes initiators as criminal"
        " (eurepoc codes state, state-affiliated and unknown). Zero criminal incidents here"
        " means the sources do not use the category, not that there were none."
    ]
    assert warnings_of(landscape(reduced_db), "granularity") == []


def test_small_n_writes_no_headline_and_no_shares(
    reduced_db: str, raw_rows: list[dict[str, str]]
) -> None:
    expected = _state_count(raw_rows, "2024-04-01", "2025-03-31", {"Germany"})
    figures = landscape(reduced_db, "--victim-country", "Germany")
    assert figures["incidents"] == expected == 5
    assert warnings_of(figures, "small-n") == [
        "Only 5 incidents in the 12 months ending 31 March 2025 pass the filters, fewer than"
        f" --min-n 10: {SMALL_N_RULE}"
    ]
    assert figures["headline"] == []
    text = run(reduced_db, "landscape", "--victim-country", "Germany").stdout
    assert "too few to estimate" in text and "•" not in text
    lowered = landscape(reduced_db, "--victim-country", "Germany", "--min-n", "5")
    assert warnings_of(lowered, "small-n") == [] and lowered["headline"]


def test_report_shows_the_warnings_and_no_key_finding_when_too_few(
    reduced_db: str, tmp_path: Path
) -> None:
    output = tmp_path / "report.html"
    result = run(reduced_db, "report", "-o", str(output), "--victim-country", "Germany")
    assert result.exit_code == 0, result.output
    html = output.read_text(encoding="utf-8")
    block = html[html.index('id="warnings"') : html.index('id="summary"')]
    assert '<li data-kind="small-n"><b>small-n:</b> Only 5 incidents' in block
    assert '<li data-kind="dates"><b>dates:</b> eurepoc: 1 dated 1970-01-01' in block
    summary = html[html.index('id="summary"') : html.index('id="nexus"')]
    assert "the largest nexus" not in summary and "accounted for" not in summary
    nexus = html[html.index('id="nexus"') : html.index('id="nexus"') + 20000]
    assert "too few to estimate" in nexus and "p (Holm)" in nexus


# -- filters that never silently empty --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "region", "countries"),
    [
        (
            "Southeast Asia",
            "south-eastern-asia",
            {"Brunei", "Cambodia", "Indonesia", "Laos", "Malaysia", "Myanmar", "Philippines"}
            | {"Singapore", "Thailand", "Vietnam", "Timor-Leste"},
        ),
        (
            "Five Eyes",
            "five-eyes",
            {"Australia", "Canada", "New Zealand", "United Kingdom", "United States"},
        ),
    ],
)
def test_region_names_resolve_and_count_like_the_raw_csv(
    reduced_db: str, raw_rows: list[dict[str, str]], name: str, region: str, countries: set[str]
) -> None:
    figures = landscape(reduced_db, "--victim-region", name)
    assert figures["filters"]["victim_region"] == region
    assert figures["incidents"] == _state_count(raw_rows, "2024-04-01", "2025-03-31", countries)
    assert figures["incidents"] > 0


def test_middle_east_and_apac_resolve(reduced_db: str) -> None:
    listed = orjson.loads(run(reduced_db, "regions", "--json").stdout)
    regions = {row["id"]: row for row in listed}
    assert set(regions["five-eyes"]["countries"]) == {"AU", "CA", "GB", "NZ", "US"}
    assert {"IR", "IL", "SA", "EG", "TR"} <= set(regions["middle-east"]["countries"])
    assert "CY" not in regions["middle-east"]["countries"]
    assert {"CN", "JP", "IN", "AU", "SG"} <= set(regions["apac"]["countries"])
    assert "IR" not in regions["apac"]["countries"]
    names = (("Middle East", "middle-east"), ("APAC", "apac"), ("asia pacific", "apac"))
    for name, region in names:
        assert landscape(reduced_db, "--victim-region", name)["filters"]["victim_region"] == region
    table = run(reduced_db, "regions").stdout
    assert "five-eyes" in table and "Five Eyes" in table


def test_sector_labels_resolve_and_errors_list_sub_sectors(reduced_db: str) -> None:
    by_label = landscape(reduced_db, "--sector", "Critical infrastructure")
    by_id = landscape(reduced_db, "--sector", "critical-infrastructure")
    assert by_label["filters"]["sector"] == "critical-infrastructure"
    assert by_label["incidents"] == by_id["incidents"] > 0
    assert landscape(reduced_db, "--sector", "Semiconductors")["filters"]["sector"] == (
        "semiconductors"
    )
    result = run(reduced_db, "landscape", "--sector", "chips")
    assert result.exit_code == 2
    assert "unknown sector 'chips'; sectors (sub-sectors in brackets): government (" in (
        result.stderr
    )
    assert "technology (artificial-intelligence, semiconductors, cloud-infrastructure" in (
        result.stderr
    )
    raw = tomllib.loads((ROOT / "src/threatscope/taxonomy/sectors.toml").read_text("utf-8"))
    listed = orjson.loads(run(reduced_db, "sectors", "--json").stdout)
    assert [row["id"] for row in listed] == list(raw["sectors"])
    semiconductors = {"id": "semiconductors", "label": "Semiconductors", "parent": "technology"}
    assert {**semiconductors, "also": []} in listed
    assert "  semiconductors" in run(reduced_db, "sectors").stdout


def test_unknown_source_exits_2_listing_the_sources(reduced_db: str) -> None:
    for command in ("landscape", "report"):
        result = run(reduced_db, command, "--source", "eurepc")
        assert result.exit_code == 2, command
        assert result.stderr.strip() == (
            "error: --source 'eurepc': no incidents from that source; sources with incidents:"
            " eurepoc"
        )
    assert landscape(reduced_db, "--source", "eurepoc")["incidents"] == 107


# -- crafted tables: the cases the real export does not have ----------------------------------


def _table(path: Path, source: str, rows: list[tuple[date, str, str, str, str]]) -> Path:
    path.with_suffix(".csv").write_text(
        "date,country,category,sector,victim_country\n"
        + "".join(",".join(str(v) for v in row) + "\n" for row in rows),
        encoding="utf-8",
    )
    mapping = path.with_suffix(".toml")
    mapping.write_text(
        f'[columns]\nsource = "{source}"\ndate = "date"\nactor_country = "country"\n'
        'actor_category = "category"\nsector = "sector"\nvictim_country = "victim_country"\n',
        encoding="utf-8",
    )
    return mapping


@pytest.fixture(scope="module")
def crafted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """crafted-a: state, China, semiconductors; 20 incidents in each quarter of 2024, then 4 in
    2025-Q1 (the last on 31 March), plus 1970-01-01, 1985-06-01 and 2099-01-01.
    crafted-b: criminal, technology (top level only); 3 incidents a quarter 2024-Q2..2025-Q1."""
    folder = tmp_path_factory.mktemp("crafted")
    a = [date(2024, 1 + 3 * q + i % 3, 1 + i) for q in range(4) for i in range(20)]
    a += [date(2025, 1, 10), date(2025, 2, 10), date(2025, 3, 10), date(2025, 3, 31)]
    a += [date(1970, 1, 1), date(1985, 6, 1), date(2099, 1, 1)]
    b = [date(2024 + (3 + i) // 12, (3 + i) % 12 + 1, 5) for i in range(12)]
    db = folder / "kb.db"
    for name, source, rows in (
        ("a", "crafted-a", [(d, "China", "state", "semiconductors", "Taiwan") for d in a]),
        ("b", "crafted-b", [(d, "", "criminal", "technology", "Germany") for d in b]),
    ):
        mapping = _table(folder / name, source, rows)
        table = str(mapping.with_suffix(".csv"))
        result = run(db, "import", "table", table, "--mapping", str(mapping))
        assert result.exit_code == 0, result.output
    return db


WINDOW = ("--window", "2024-04-01..2025-03-31")


def test_crafted_dates_are_counted_and_never_choose_the_window(crafted_db: Path) -> None:
    figures = landscape(crafted_db)
    # Without the 2099 date the latest 31 March is 2025's, not 2098's.
    assert figures["window"] == {"start": "2024-04-01", "end": "2025-03-31"}
    assert warnings_of(figures, "dates") == [
        "crafted-a: 1 dated 1970-01-01 (a placeholder), 1 dated before 1990 (1985-06-01) and 1"
        " dated after the export (2099-01-01; the source's other dates end 2025-03-31). "
        + DATES_RULE
    ]


def test_crafted_recency_against_a_trailing_mean_of_20(crafted_db: Path) -> None:
    from scipy.stats import poisson

    figures = landscape(crafted_db, *WINDOW)
    p_value = poisson.cdf(4, 20)
    assert p_value < 0.001
    assert warnings_of(figures, "recency") == [
        "crafted-a: 2025-Q1 has 4 incidents against 20.0 expected (20%, one-sided Poisson"
        " p < 0.001); expected = the mean of 2024-Q1 to 2024-Q4, all of crafted-a's incidents. "
        + RECENCY_RULE
    ]
    # Cut the window at 15 February: 2025-Q1 is then expected to hold 20 * 46/90 incidents.
    cut = landscape(crafted_db, "--window", "2024-02-16..2025-02-15")
    expected = 20 * 46 / 90
    assert f"2025-Q1 has 2 incidents against {expected:.1f} expected" in (
        warnings_of(cut, "recency")[0]
    )


def test_crafted_partial_granularity_names_who_codes_what(crafted_db: Path) -> None:
    figures = landscape(crafted_db, *WINDOW, "--sector", "semiconductors")
    state_only_in_a = (
        "--actor-category state/state-affiliated: only crafted-a codes initiators as"
        " state/state-affiliated; crafted-b codes criminal, so its state/state-affiliated"
        " incidents are not counted."
    )
    assert warnings_of(figures, "granularity") == [
        "--sector semiconductors: only crafted-a codes victims as Semiconductors; crafted-b codes"
        " top-level sectors only: Technology. Incidents of crafted-b against semiconductors"
        " targets are not counted.",
        state_only_in_a,
    ]
    crime = landscape(crafted_db, *WINDOW, "--actor-category", "criminal")
    assert warnings_of(crime, "granularity") == [
        "--actor-category criminal: only crafted-b codes initiators as criminal; crafted-a codes"
        " state, so its criminal incidents are not counted."
    ]
    assert crime["incidents"] == 12 and warnings_of(crime, "small-n") == []
    # The default categories: crafted-a writes "state" only, which still answers them.
    assert warnings_of(landscape(crafted_db, *WINDOW), "granularity") == [state_only_in_a]


def test_source_filters_on_the_mappings_source_name(crafted_db: Path) -> None:
    only_b = landscape(crafted_db, *WINDOW, "--source", "crafted-b", "--actor-category", "criminal")
    assert only_b["incidents"] == 12 and only_b["filters"]["sources"] == ["crafted-b"]
    assert warnings_of(only_b, "granularity") == []
    result = run(crafted_db, "landscape", "--source", "table")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --source 'table': no incidents from that source; sources with incidents:"
        " crafted-a, crafted-b"
    )


def test_crafted_small_n_with_no_source_in_the_window(crafted_db: Path) -> None:
    figures = landscape(crafted_db, "--window", "2030-01-01..2030-12-31")
    assert warnings_of(figures, "small-n") == [
        "No incident in 1 January 2030 to 31 December 2030 passes the filters, fewer than"
        f" --min-n 10: {SMALL_N_RULE} No source has incidents dated in this window (sources"
        " cover: crafted-a 2024-01-01 to 2025-03-31; crafted-b 2024-04-05 to 2025-03-05)."
    ]
    assert figures["headline"] == []


# -- Holm by hand -------------------------------------------------------------------------------


def test_holm_matches_a_hand_computed_example() -> None:
    # m = 4 tests (None is no test). Sorted: 0.005*4 = 0.02; 0.01*3 = 0.03; 0.03*2 = 0.06;
    # 0.04*1 = 0.04, raised to 0.06 to keep the order.
    assert holm([0.01, 0.04, 0.03, 0.005, None]) == pytest.approx([0.03, 0.06, 0.06, 0.02, None])
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == [] and holm([None]) == [None]
    assert Counter(holm([0.02, 0.02])) == Counter({0.04: 2})
