"""`--db` and THREATSCOPE_DB take a path or a URL; a URL no backend serves writes nothing
(issue 10, item 5). It used to become a folder `postgresql:` with a SQLite file in it. PostgreSQL
URLs are served now (tests/test_postgres_store.py)."""

from __future__ import annotations

import string
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from threatscope.cli import app
from threatscope.errors import ConfigError
from threatscope.store import open_store, postgres_url, sqlite_path
from threatscope.store.location import shown_location

REFUSED = {
    "mysql://analyst:s3cret@db.example.org:3306/threatscope": (
        "error: mysql://analyst:***@db.example.org:3306/threatscope: unknown database scheme"
        " 'mysql'; use a SQLite file path (or sqlite:///PATH, postgresql://…)"
    ),
    "mysql://localhost/ts": (
        "error: mysql://localhost/ts: unknown database scheme 'mysql';"
        " use a SQLite file path (or sqlite:///PATH, postgresql://…)"
    ),
    "sqlite://": "error: sqlite://: names no database file; use sqlite:///PATH or a path",
}


@pytest.mark.parametrize("url", sorted(REFUSED))
def test_a_url_no_backend_serves_is_refused_before_anything_is_written(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["--db", url, "import", "misp-galaxy"], ["--db", url, "stats"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines() == [REFUSED[url]]
        assert "s3cret" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_threatscope_db_setting_is_a_location_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("THREATSCOPE_DB", "mysql://localhost/ts")
    result = CliRunner().invoke(app, ["import", "misp-galaxy"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [REFUSED["mysql://localhost/ts"]]
    assert list(tmp_path.iterdir()) == []


def test_sqlite_url_names_the_same_file_as_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    imported = runner.invoke(app, ["--db", "sqlite:///kb.db", "import", "misp-galaxy", "--json"])
    assert imported.exit_code == 0, imported.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.db"]
    absolute = f"sqlite:///{tmp_path / 'kb.db'}"  # sqlite:////tmp/...: four slashes, absolute
    by_url = runner.invoke(app, ["--db", absolute, "stats", "--json"])
    by_path = runner.invoke(app, ["--db", str(tmp_path / "kb.db"), "stats", "--json"])
    assert by_url.exit_code == by_path.exit_code == 0
    stats = orjson.loads(by_url.stdout)
    assert stats == orjson.loads(by_path.stdout)
    assert sum(stats["objects"].values()) == orjson.loads(imported.stdout)["added"]


def test_library_open_store_refuses_urls(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown database scheme 'mysql'"):
        open_store("mysql://localhost/ts")
    for url in ("postgresql://localhost/ts", "postgres://h/db", "postgresql+psycopg://h/db"):
        assert postgres_url(url) == url
        with pytest.raises(ConfigError, match="names a PostgreSQL database, not a SQLite file"):
            sqlite_path(url)
    assert postgres_url("./postgresql://x") is None
    assert postgres_url("mysql://localhost/ts") is None
    assert sqlite_path(tmp_path / "kb.db") == str(tmp_path / "kb.db")
    # Paths that merely contain a colon or "://" later on stay paths.
    for path in ("C:\\data\\kb.db", "kb:2026.db", "./postgresql://x", ":memory:"):
        assert sqlite_path(path) == path


_NAME = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=12)


@given(user=_NAME, password=st.text(min_size=1).filter(lambda p: not set(p) & set("@/&#")))
def test_a_password_in_a_url_is_never_shown(user: str, password: str) -> None:
    for scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        url = f"{scheme}://{user}:{password}@db.example.org:5432/ts"
        assert shown_location(url) == f"{scheme}://{user}:***@db.example.org:5432/ts"
        in_query = f"{scheme}:///ts?host=/run/pg&password={password}&sslmode=disable"
        assert shown_location(in_query) == (
            f"{scheme}:///ts?host=/run/pg&password=***&sslmode=disable"
        )
        assert postgres_url(url) == url
