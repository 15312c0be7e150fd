"""`make demo` imports the shared AnnoCTR training reports through `import reports`' code, and
`landscape --source reports` gives their nexus shares (issue 12: "the README shows the
landscape they give")."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from conftest import shared_file
from threatscope.cli import app
from threatscope.demo import SHARED_REPORTS, import_shared_reports
from threatscope.ingest import run_import
from threatscope.store import open_store


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[int, int, float]]:
    shared_file(SHARED_REPORTS)
    galaxy = shared_file("misp-galaxy/threat-actor.json")
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    store = open_store(db)
    try:
        run_import(store, "misp-galaxy", galaxy)
        imported = import_shared_reports(store, galaxy.parents[1])
    finally:
        store.close()
    assert imported is not None
    return db, imported


def test_demo_imports_every_annoctr_training_report(
    demo_reports: tuple[Path, tuple[int, int, float]],
) -> None:
    db, (files, incidents, seconds) = demo_reports
    assert (files, incidents) == (70, 70)
    assert seconds > 0
    result = CliRunner().invoke(app, ["--db", str(db), "stats", "--json"])
    assert orjson.loads(result.stdout)["objects"]["incident"] == 70


def test_landscape_of_the_demo_reports(demo_reports: tuple[Path, tuple[int, int, float]]) -> None:
    """With the MISP galaxy resolving the actors: 20 state incidents from 2016 to 2021, Russia
    8, China 7, Iran 4, Palestine 1 (the README shows the same from the tour's reports.db)."""
    db, _ = demo_reports
    result = CliRunner().invoke(
        app,
        ["--db", str(db), "landscape", "--source", "reports",
         "--ending", "2021-09-30", "--months", "72", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    landscape = orjson.loads(result.stdout)
    assert landscape["incidents"] == 20
    assert [(n["nexus"], n["count"]) for n in landscape["by_nexus"]] == [
        ("RU", 8), ("CN", 7), ("IR", 4), ("PS", 1)
    ]  # fmt: skip
    low, high = landscape["by_nexus"][0]["ci95"]
    assert (round(low, 3), round(high, 3)) == (0.219, 0.613)
    assert landscape["sources"][0]["incidents"] == 70


def test_demo_skips_the_reports_without_shared_data(tmp_path: Path) -> None:
    store = open_store(tmp_path / "demo.db")
    try:
        assert import_shared_reports(store, tmp_path / "absent") is None
        assert store.stats()["objects"].get("incident", 0) == 0
    finally:
        store.close()
