"""No traceback reaches a user (issue 10, item 6): every failure is one line on stderr.

Expected failures (bad options, network, an external program) are ThreatScopeErrors: exit 2 and
a message saying what to do. Anything else is a bug, printed as one "internal error" line with
exit 1; THREATSCOPE_DEBUG=1 lets the traceback through.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.errors import ConfigError, NetworkError
from threatscope.sources.fetch import FEEDS, fetch_feed

FIXTURES = Path(__file__).parent / "fixtures"
WINDOW = ("--window", "2025-01-01..2025-12-31")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_line(result: Result, exit_code: int) -> str:
    """The single stderr line of a failed command (and nothing on stdout)."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert result.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def galaxy_kb(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("galaxy") / "kb.db")
    assert run("--db", db, "import", "misp-galaxy").exit_code == 0
    return db


@pytest.fixture(scope="module")
def incidents_kb(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("incidents") / "kb.db")
    table = ["import", "table", str(FIXTURES / "incidents.csv")]
    imported = run("--db", db, *table, "--mapping", str(FIXTURES / "incidents.toml"))
    assert imported.exit_code == 0, imported.output
    return db


@pytest.mark.parametrize("dataset", ["attack-groups", "attack-reports"])
def test_eval_attribution_seeds_that_fitted_the_calibration(galaxy_kb: str, dataset: str) -> None:
    result = run("--db", galaxy_kb, "eval", "attribution", "--dataset", dataset, "--seeds", "1002")
    assert one_line(result, 2) == (
        "error: seeds 1000, 1001 fitted the calibration; report on others"
        " (--seeds N runs seeds 0..N-1: at most 1000)"
    )
    result = run("--db", galaxy_kb, "eval", "attribution", "--dataset", dataset, "--seeds", "0")
    assert one_line(result, 2) == "error: --seeds must be at least 1"


def test_train_bad_seed_and_unwritable_output(galaxy_kb: str, tmp_path: Path) -> None:
    model = str(tmp_path / "model.joblib")
    result = run("--db", galaxy_kb, "train", "--seed", "-1", "--output", model)
    assert one_line(result, 2) == "error: --seed must be between 0 and 4294967295, got -1"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run("--db", galaxy_kb, "train", "--output", str(blocker / "model.joblib"))
    line = one_line(result, 2)
    assert line.startswith(f"error: {blocker / 'model.joblib'}: cannot write the model: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_attribute_impossible_first_seen(galaxy_kb: str) -> None:
    result = run("--db", galaxy_kb, "attribute", "--technique", "T1059", "--first-seen", "2024-13")
    assert one_line(result, 2) == "error: first_seen must be YYYY-MM or YYYY-MM-DD, got '2024-13'"


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.mark.usefixtures("no_proxy")
def test_network_failures_are_network_errors(galaxy_kb: str, tmp_path: Path) -> None:
    refused = "http://127.0.0.1:9/enterprise-attack.json"  # discard port: nothing listens
    sync = ("--db", galaxy_kb, "sync", "--only", "attack-enterprise")
    result = run(*sync, "--url", f"attack-enterprise={refused}")
    assert one_line(result, 2).startswith(f"error: {refused}: download failed: ")
    with pytest.raises(NetworkError, match="download failed"):
        fetch_feed(FEEDS[0], tmp_path, url=refused)
    assert list(tmp_path.iterdir()) == []
    result = run(*sync, "--url", "attack-enterprise=http://[::1")
    assert one_line(result, 2) == "error: http://[::1: not a valid URL: Invalid port: ':1'"
    with pytest.raises(ConfigError, match="not a valid URL"):
        fetch_feed(FEEDS[0], tmp_path, url="http://[::1")


def test_a_failing_pdf_browser_is_an_external_tool_error(
    incidents_kb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    false = shutil.which("false")
    assert false
    monkeypatch.setenv("THREATSCOPE_CHROMIUM", false)
    html = tmp_path / "report.html"
    result = run("--db", incidents_kb, "report", "-o", str(html), "--pdf", *WINDOW)
    assert one_line(result, 2) == f"error: {false} could not print report.html to PDF: exit code 1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.fixture
def broken_kb(incidents_kb: str, tmp_path: Path) -> str:
    """A knowledge base with a table gone (a damaged file): reading it fails in SQLite."""
    db = tmp_path / "broken.db"
    shutil.copy(incidents_kb, db)
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE incident_sources")
    conn.close()
    return str(db)


def test_an_unexpected_exception_is_one_internal_error_line(
    broken_kb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("THREATSCOPE_DEBUG", raising=False)
    result = run("--db", broken_kb, "landscape", *WINDOW)
    assert one_line(result, 1) == (
        "error: internal error: OperationalError: no such table: incident_sources"
        " (please report; set THREATSCOPE_DEBUG=1 for the traceback)"
    )
    monkeypatch.setenv("THREATSCOPE_DEBUG", "1")
    debug = run("--db", broken_kb, "landscape", *WINDOW)
    assert isinstance(debug.exception, sqlite3.OperationalError)


def test_usage_errors_and_exits_are_typers_own(galaxy_kb: str) -> None:
    """The catch-all leaves Typer's exits alone: --version, --help, a missing argument."""
    assert run("--version").exit_code == 0
    assert run("--db", galaxy_kb, "stats", "--help").exit_code == 0
    missing = run("--db", galaxy_kb, "actor", "show")
    assert missing.exit_code == 2
    assert "internal error" not in missing.output
