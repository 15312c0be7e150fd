"""The landscape on PostgreSQL (store/postgres_landscape.py) against SQLite's, on a real server
(tests/postgres_server.py) and the same real data in both: the MISP galaxy, ATT&CK Enterprise,
CISA KEV, the reduced EuRepoC export and the EuRepoC Global Database 1.1.

Every `LandscapeQueries` answer is compared with SQLite's for several selections; then
`threatscope landscape --json` must print the same bytes on both backends.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from conftest import shared_file
from postgres_server import PostgresServer
from threatscope.cli import app
from threatscope.days import day_of as day_number
from threatscope.ingest import run_import
from threatscope.landscape.compute import _prepare_lookups
from threatscope.landscape.selection import Filters, select, victim_filter
from threatscope.store import SQLiteStore, open_store
from threatscope.store.postgres import PostgresStore
from threatscope.taxonomy import CATEGORIES

REDUCED = "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"
GLOBAL = "incidents/eurepoc-1.1/EuRepoC_Global_Database_1.1.csv"
# The default window of this data (ending the latest 31 March before its placeholder dates)
WINDOW = (date(2024, 4, 1), date(2025, 3, 31))
SELECTED = (date(2022, 1, 1), date(2025, 3, 31))  # previous window and 8-quarter trend with it

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
    misp_path: Path,
    enterprise_path: Path,
    kev_path: Path,
) -> Iterator[tuple[SQLiteStore, PostgresStore, Path, str]]:
    files = (
        ("misp-galaxy", misp_path),
        ("attack", enterprise_path),
        ("kev", kev_path),
        ("eurepoc", shared_file(REDUCED)),
        ("eurepoc", shared_file(GLOBAL)),
    )
    db = tmp_path_factory.mktemp("pgland") / "kb.db"
    url = postgres_server.create_database("landscape")
    for location in (db, url):
        with open_store(location) as store:
            for source, path in files:
                run_import(store, source, path)
    sqlite, postgres = SQLiteStore(db, read_only=True), PostgresStore(url, read_only=True)
    try:
        yield sqlite, postgres, db, url
    finally:
        sqlite.close()
        postgres.close()


def _rounded(value: Any) -> Any:
    """Weights summed in another order differ in the last bits; the JSON rounds to 6 places."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return [(_rounded(k), _rounded(v)) for k, v in value.items()]  # order kept: it matters
    if isinstance(value, set):
        return sorted(value)
    return value


def _working_set_answers(db: Any, filters: Filters) -> dict[str, Any]:
    """Every working-set answer for one selection, as landscape() asks them."""
    window = (day_number(WINDOW[0]), day_number(WINDOW[1]))
    select(db, *SELECTED, filters)
    _prepare_lookups(db)
    db.landscape_window(*window)
    try:
        answers: dict[str, Any] = {}
        for weighted in (False, True):
            total, rows = db.landscape_nexus_counts(*window, weighted)
            answers[f"nexus {weighted}"] = (total, sorted(rows))
            answers[f"days {weighted}"] = db.landscape_day_counts(
                day_number(SELECTED[0]), day_number(SELECTED[1]), weighted
            )
        for by in ("sector", "region"):
            answers[by] = db.landscape_group_counts(by)
        for kind in ("type", "technique", "cve"):
            answers[kind] = db.landscape_label_counts(kind)
        answers["lacking"] = db.landscape_lacking()
        unattributed = db.unattributed_incidents(
            *window, victim_filter(filters), ["unknown", *filters.actor_categories]
        )
        answers["unattributed"] = sorted(unattributed)
        victims, labels = db.incident_victims_and_labels([fact for fact, _ in unattributed])
        answers["victims and labels"] = (sorted(victims, key=repr), sorted(labels))
        return {name: _rounded(value) for name, value in answers.items()}
    finally:
        db.end_landscape()


SELECTIONS = {
    "default": Filters(),
    "sector": Filters(sector="technology"),
    "region": Filters(victim_region="europe"),
    "country": Filters(victim_country="United States"),
    "region and another country: no victim passes": Filters(
        victim_region="europe", victim_country="US"
    ),
    "every category, fractional": Filters(actor_categories=tuple(CATEGORIES), count="fractional"),
    "source": Filters(sources=("eurepoc",)),
}


@pytest.mark.parametrize("filters", SELECTIONS.values(), ids=SELECTIONS.keys())
def test_every_working_set_answer_is_sqlites(
    both: tuple[SQLiteStore, PostgresStore, Path, str], filters: Filters
) -> None:
    sqlite, postgres, _, _ = both
    expected = _working_set_answers(sqlite, filters)
    assert _working_set_answers(postgres, filters) == expected
    # and twice in one session: the working set was dropped, the lookups refilled
    assert _working_set_answers(postgres, filters) == expected


def test_the_default_window_counts_on_real_data(
    both: tuple[SQLiteStore, PostgresStore, Path, str],
) -> None:
    answers = _working_set_answers(both[1], Filters())
    total, rows = answers["nexus False"]
    assert total == 107
    assert dict(rows) == dict(_working_set_answers(both[0], Filters())["nexus False"][1])
    assert {"CN": 29, "RU": 27, "KP": 18, "UA": 12, "IR": 5}.items() <= dict(rows).items()
    # fractional weights of an incident sum to 1: the weighted total is the incident count
    weighted_total, weighted = answers["nexus True"]
    assert weighted_total == 107
    assert sum(n for _, n in weighted) == pytest.approx(107)


def test_the_questions_beside_the_working_set_are_sqlites(
    both: tuple[SQLiteStore, PostgresStore, Path, str],
) -> None:
    sqlite, postgres, _, _ = both
    day = day_number(date(2020, 1, 1))

    def answers(db: Any) -> list[Any]:
        return _rounded(
            [
                db.latest_incident_day(),
                db.incident_source_names(),
                db.incident_source_summaries(),
                db.source_has_incident_between("eurepoc", day, day + 30),
                db.source_has_incident_between("eurepoc", -9000, -8000),
                db.source_incident_count("eurepoc", day, day + 365),
                db.source_codes_any("eurepoc", "victim_sector", ["military", "energy"]),
                db.source_codes_any("eurepoc", "initiator_category", ["no-such-category"]),
                db.source_coded_values("eurepoc", "victim_sector"),
                db.source_coded_values("eurepoc", "initiator_category"),
                db.latest_import_finished() is not None,
                db.dated_incident_counts(),
                db.source_day_counts_before("eurepoc", day),
                db.source_latest_days("eurepoc", day, 25),
                db.source_incidents_after("eurepoc", day),
                db.source_day_at("eurepoc", day, 40),
                db.source_day_at("eurepoc", day, 10**6),
                db.source_first_day("eurepoc", day),
                db.label_value_counts(
                    ["unmapped-sector", "unmapped-country", "unmapped-actor-country", "type"]
                ),
                db.incident_import_path("eurepoc"),
                db.incident_import_path("no-such-source"),
            ]
        )

    expected = answers(sqlite)
    assert answers(postgres) == expected
    summaries = dict((s, rest) for s, *rest in sqlite.incident_source_summaries())
    assert summaries["eurepoc"][:2] == [4374 + 1643, 5886]  # both exports; dated ones


def test_a_read_only_store_builds_its_working_set_and_stays_read_only(
    both: tuple[SQLiteStore, PostgresStore, Path, str],
) -> None:
    postgres = both[1]
    assert postgres.read_only
    _working_set_answers(postgres, Filters())
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        postgres._conn.execute("CREATE TABLE intruder (id INTEGER)")
    # nothing of the working set is left in the session
    left = postgres._conn.execute(
        "SELECT relname FROM pg_class WHERE relpersistence = 't' AND relkind = 'r'"
        " AND relname LIKE 'landscape%'"
    ).fetchall()
    assert left == []


# -- the whole landscape through the CLI -------------------------------------------------------

CLI_FILTERS = {
    "default": [],
    "sector": ["--sector", "technology"],
    "region": ["--victim-region", "europe"],
    "country": ["--victim-country", "DE"],
    "fractional, every category": [
        "--count", "fractional", *(a for c in CATEGORIES for a in ("--actor-category", c))
    ],
    "source": ["--source", "eurepoc"],
    "ending and months": ["--ending", "2022-12-31", "--months", "6"],
    "window": ["--window", "2015-01-01..2020-12-31"],
}  # fmt: skip


@pytest.mark.skipif(
    not hasattr(PostgresStore, "actor_rows") or not hasattr(PostgresStore, "changing_imports"),
    reason="the landscape also asks actor and document questions (PostgresActorQueries, "
    "PostgresDocumentQueries), not on PostgresStore on this branch",
)
@pytest.mark.parametrize("options", CLI_FILTERS.values(), ids=CLI_FILTERS.keys())
def test_landscape_json_is_byte_identical_on_both_backends(
    both: tuple[SQLiteStore, PostgresStore, Path, str], options: list[str]
) -> None:
    _, _, db, url = both
    outputs = []
    for location in (str(db), url):
        result = CliRunner().invoke(app, ["--db", location, "landscape", "--json", *options])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert '"incidents": ' in outputs[1]


@pytest.mark.skipif(
    not hasattr(PostgresStore, "actor_rows") or not hasattr(PostgresStore, "changing_imports"),
    reason="the report also asks actor and document questions (PostgresActorQueries, "
    "PostgresDocumentQueries), not on PostgresStore on this branch",
)
@pytest.mark.parametrize("options", [[], ["--sector", "technology", "--count", "fractional"]])
def test_the_report_is_byte_identical_on_both_backends(
    both: tuple[SQLiteStore, PostgresStore, Path, str], options: list[str], tmp_path: Path
) -> None:
    _, _, db, url = both
    # One process each, as a user runs them: the chart renderer numbers its gradient ids per
    # process, so a second report in one process differs from the first whatever the backend.
    cli = Path(sys.executable).parent / "threatscope"
    pages = []
    for n, location in enumerate((str(db), url)):
        page = tmp_path / f"report{n}.html"
        done = subprocess.run(
            [str(cli), "--db", location, "report", "--output", str(page), *options],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        pages.append(page.read_bytes())
    assert pages[0] == pages[1]
    assert len(pages[1]) > 10_000


def test_a_knowledge_base_without_incidents_says_so_on_both_backends(
    postgres_url: str, tmp_path: Path
) -> None:
    """The landscape runs on PostgreSQL: without incidents it stops as SQLite's does (it said
    "not available on PostgreSQL yet" before)."""
    lines = []
    for location in (str(tmp_path / "kb.db"), postgres_url):
        assert CliRunner().invoke(app, ["--db", location, "import", "misp-galaxy"]).exit_code == 0
        result = CliRunner().invoke(app, ["--db", location, "landscape"])
        assert result.exit_code == 2, result.output
        lines.append(result.stderr.splitlines())
    assert lines[0] == lines[1] == [
        "error: no dated incidents in the knowledge base; import some (e.g. `threatscope import"
        " eurepoc FILE`) or give --window"
    ]


def test_a_role_without_temporary_tables_gets_one_line(
    postgres_server: PostgresServer, postgres_url: str, tmp_path: Path
) -> None:
    with open_store(postgres_url) as store:
        run_import(store, "eurepoc", shared_file(REDUCED))
    role = f"no_temp_{uuid.uuid4().hex[:8]}"
    database = psycopg.conninfo.conninfo_to_dict(postgres_url)["dbname"]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    url = postgres_url.replace("user=threatscope", f"user={role}")
    assert url != postgres_url
    result = CliRunner().invoke(app, ["--db", url, "landscape", "--json"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: {url}: the landscape needs temporary tables on the server: permission denied"
        f" to create temporary tables in database \"{database}\""
    ]
    assert result.stdout == ""
