"""Shared fixtures: real SQLite files in temp dirs, or databases on a real PostgreSQL server; the
shared data found through one setting.

Tests that take `backend` (or a fixture built on it, such as `kb_location`) run once per backend:
SQLite, and PostgreSQL on the session's throwaway server (tests/postgres_server.py; skipped with
the reason where no server can be started). `pytest --backend sqlite` (or `postgresql`) runs one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postgres_server import postgres_server, postgres_url  # noqa: F401  (fixtures)
from threatscope.store import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("both", *BACKENDS),
        default="both",
        help="the knowledge-base backend(s) backend-parametrized tests run on (default: both)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config.getoption("--backend")
    if chosen == "both":
        return
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        (dropped if params.get("backend", chosen) != chosen else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The knowledge-base backend of this run of the test: "sqlite" or "postgresql"."""
    return str(request.param)


def new_location(request: pytest.FixtureRequest, backend: str, folder: Path) -> str:
    """Where a new, empty knowledge base of `backend` goes: a file in `folder`, or a new database
    on the session's PostgreSQL server (the test skips, saying why, when there is none)."""
    if backend == "sqlite":
        return str(folder / "kb.db")
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database())


@pytest.fixture
def kb_location(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A new, empty knowledge base for this test alone, on each backend in turn."""
    return new_location(request, backend, tmp_path)


def data_dir() -> Path:
    """`THREATSCOPE_DATA`, default `../shared/data` beside the project root."""
    return Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))


def shared_file(relative: str) -> Path:
    """A file of the shared data, or a skip saying what is missing and how to point at it."""
    path = data_dir() / relative
    if not path.exists():
        pytest.skip(f"shared data file {path} is absent (set THREATSCOPE_DATA to its directory)")
    return path


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session: the warning-list index is built once, never in the user's."""
    return tmp_path_factory.mktemp("xdg-cache")


def _user_dirs(home: Path, cache: Path) -> dict[str, Path]:
    return {
        "HOME": home,
        "XDG_DATA_HOME": home / "data",
        "XDG_CONFIG_HOME": home / "config",
        "XDG_STATE_HOME": home / "state",
        "XDG_CACHE_HOME": cache,
        "THREATSCOPE_DB": home / "data" / "threatscope.db",
    }


@pytest.fixture(scope="session", autouse=True)
def private_user_dirs_for_the_session(
    tmp_path_factory: pytest.TempPathFactory, shared_cache: Path
) -> Iterator[None]:
    """The same for module- and session-scoped fixtures, which pytest sets up before any
    function-scoped one: a module's knowledge base must not be built with the user's model."""
    with pytest.MonkeyPatch.context() as patch:
        for name, path in _user_dirs(tmp_path_factory.mktemp("session-home"), shared_cache).items():
            patch.setenv(name, str(path))
        yield


@pytest.fixture(autouse=True)
def private_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """Every user directory (database, trained model, caches, config) in a temp folder, so a
    user's own `threatscope train` or knowledge base never changes what a test sees."""
    dirs = _user_dirs(tmp_path_factory.mktemp("home"), shared_cache)
    for name, path in dirs.items():
        monkeypatch.setenv(name, str(path))
    return dirs


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "kb.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    kb = SQLiteStore(db_path)
    try:
        yield kb
    finally:
        kb.close()


@pytest.fixture(scope="session")
def enterprise_path() -> Path:
    return shared_file("attack/enterprise-attack-18.1.json")


@pytest.fixture(scope="session")
def ics_path() -> Path:
    return shared_file("attack/ics-attack-18.1.json")


@pytest.fixture(scope="session")
def kev_path() -> Path:
    return shared_file("kev/known_exploited_vulnerabilities.json")


@pytest.fixture(scope="session")
def misp_path() -> Path:
    return shared_file("misp-galaxy/threat-actor.json")


@pytest.fixture(scope="session")
def raw_attack(enterprise_path: Path) -> list[dict[str, Any]]:
    """The Enterprise bundle's objects as the json module reads them: the independent truth."""
    return json.loads(enterprise_path.read_bytes())["objects"]


@pytest.fixture(scope="session")
def raw_galaxy(misp_path: Path) -> dict[str, Any]:
    return json.loads(misp_path.read_bytes())
