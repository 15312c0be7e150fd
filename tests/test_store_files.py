"""`--db` only ever adopts a new or empty file, refuses anything else untouched, and reads a
knowledge base it cannot write (issue 11, "Files", items 6 and 7)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.store.migrations import APPLICATION_ID

FIXTURES = Path(__file__).parent / "fixtures"
THREATSCOPE = Path(sys.executable).parent / "threatscope"
IMPORT = ("import", "table", str(FIXTURES / "incidents.csv"),
          "--mapping", str(FIXTURES / "incidents.toml"))


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def snapshot(folder: Path) -> dict[str, str]:
    """Every file in the folder and its digest: what 'untouched' means."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def other_application(path: Path, application_id: int = 0) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
        "INSERT INTO notes (body) VALUES ('shopping list');"
        f"PRAGMA application_id = {application_id};"
    )
    conn.close()
    return path


@pytest.mark.parametrize("command", [("stats",), ("landscape",), ("actor", "list"), IMPORT])
@pytest.mark.parametrize("application_id", [0, 0x4D504442])
def test_another_applications_database_is_refused_untouched(
    tmp_path: Path, command: tuple[str, ...], application_id: int
) -> None:
    db = other_application(tmp_path / "notes.db", application_id)
    before = snapshot(tmp_path)
    done = run(db, *command)
    assert done.exit_code == 2
    expected = (
        f"error: {db}: not a ThreatScope knowledge base (another application's database, "
        f"application_id {application_id:#x}); nothing was changed"
        if application_id
        else f"error: {db}: not a ThreatScope knowledge base (it holds tables notes); "
        "nothing was changed"
    )
    assert done.stderr.strip() == expected
    assert snapshot(tmp_path) == before
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


@pytest.mark.parametrize("command", [("stats",), IMPORT])
def test_a_file_that_is_not_sqlite_is_refused_untouched(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("my notes, not a database\n")
    before = snapshot(tmp_path)
    done = run(db, *command)
    assert done.exit_code == 2
    assert done.stderr.strip() == (
        f"error: {db}: not a ThreatScope knowledge base (not an SQLite file); nothing was changed"
    )
    assert snapshot(tmp_path) == before


def test_an_empty_file_becomes_a_knowledge_base_only_on_a_write(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    db.touch()
    for command in (("stats",), ("landscape",), ("actor", "list")):
        done = run(db, *command)
        assert done.exit_code == 2, command
        assert "no knowledge base here yet" in done.stderr
        assert snapshot(tmp_path) == {"kb.db": hashlib.sha256(b"").hexdigest()}
    assert run(db, *IMPORT).exit_code == 0
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("SELECT count(*) FROM objects").fetchone()[0] > 0


def test_a_read_command_never_creates_a_file(tmp_path: Path) -> None:
    done = run(tmp_path / "missing.db", "stats")
    assert done.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_a_read_command_changes_nothing_in_a_knowledge_base(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    assert run(db, *IMPORT).exit_code == 0
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = snapshot(tmp_path)
    for command in (("stats", "--json"), ("landscape", "--json"), ("actor", "list"),
                    ("imports",)):
        assert run(db, *command).exit_code == 0, command
    after = snapshot(tmp_path)
    assert after["kb.db"] == before["kb.db"]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_a_knowledge_base_on_a_read_only_file_system_is_readable(tmp_path: Path) -> None:
    """Root ignores file modes, so the directory is made read-only as a real mount is."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "kb.db"
    assert run(db, *IMPORT).exit_code == 0
    expected = run(db, "stats", "--json").stdout
    script = (
        f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && '
        f'"{THREATSCOPE}" --db "{db}" stats --json'
    )
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                          text=True, timeout=120, check=False)
    if "Operation not permitted" in done.stderr or "unshare failed" in done.stderr:
        pytest.skip(f"cannot make a read-only mount here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
