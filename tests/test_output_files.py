"""Output files: written whole or not at all, never through a planted name, never over the
knowledge base being read (issue 11, "Files")."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.errors import ConfigError
from threatscope.files import atomic_output, write_atomically

FIXTURES = Path(__file__).parent / "fixtures"
VICTIM_TEXT = "export PATH=/usr/bin  # the user's own file\n"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    db = tmp_path / "kb.db"
    done = run(db, "import", "table", str(FIXTURES / "incidents.csv"),
               "--mapping", str(FIXTURES / "incidents.toml"))
    assert done.exit_code == 0, done.output
    return db


def plant(output: Path, victim: Path) -> list[Path]:
    """Symlinks at every name an output used to be written through, all pointing at `victim`."""
    names = [output.with_name(output.name + ".part"), output.with_name(output.name + ".tmp"),
             output.with_suffix(".part")]
    for name in names:
        name.symlink_to(victim)
    return names


@pytest.mark.parametrize("command", ["report", "export", "extract"])
def test_planted_symlinks_are_never_written_through(
    kb: Path, tmp_path: Path, command: str
) -> None:
    victim = tmp_path / "bashrc"
    victim.write_text(VICTIM_TEXT)
    output = tmp_path / "out" / "result.out"
    output.parent.mkdir()
    planted = plant(output, victim)
    text = tmp_path / "report.md"
    text.write_text("APT41 used PlugX against 45.77.12.9 and CVE-2024-3400.\n")
    args = {
        "report": ["report", "-o", str(output)],
        "export": ["export", "stix", "-o", str(output)],
        "extract": ["extract", str(text), "--bundle", str(output)],
    }[command]
    done = run(kb, *args)
    assert done.exit_code == 0, done.output
    assert victim.read_text() == VICTIM_TEXT
    assert output.is_file() and not output.is_symlink() and output.stat().st_size > 0
    assert all(name.is_symlink() for name in planted)
    leftovers = {p.name for p in output.parent.iterdir()} - {output.name} - {
        p.name for p in planted}
    assert leftovers == set()


@pytest.mark.parametrize("command", ["report", "export"])
def test_an_output_that_is_the_knowledge_base_is_refused(kb: Path, command: str) -> None:
    before = digest(kb)
    args = {"report": ["report", "-o", str(kb)], "export": ["export", "stix", "-o", str(kb)]}
    done = run(kb, *args[command])
    assert done.exit_code == 2
    assert done.stderr.strip() == (
        f"error: {kb}: is the knowledge base being read; choose another output file"
    )
    assert digest(kb) == before


def test_the_knowledge_base_is_protected_through_another_name(kb: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias.db"
    alias.symlink_to(kb)
    before = digest(kb)
    assert run(kb, "export", "stix", "-o", str(alias)).exit_code == 2
    assert digest(kb) == before


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "model.joblib"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(target) as out:
        out.write(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.joblib"]


def test_a_planted_output_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text(VICTIM_TEXT)
    target = tmp_path / "report.html"
    target.symlink_to(victim)
    write_atomically(target, b"<html></html>")
    assert victim.read_text() == VICTIM_TEXT
    assert not target.is_symlink() and target.read_bytes() == b"<html></html>"


def test_concurrent_writers_each_leave_a_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "kev.json"
    payloads = [bytes([65 + i]) * 2_000_000 for i in range(4)]

    def write(data: bytes) -> None:
        with atomic_output(target) as out:
            for start in range(0, len(data), 65536):
                out.write(data[start:start + 65536])

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_bytes() in payloads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kev.json"]


def test_an_unwritable_directory_is_one_config_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        blocked = tmp_path / "file-not-dir"
        blocked.write_text("x")
        target = blocked / "out.html"  # a path through a regular file cannot be created
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "out.html"
    with pytest.raises(ConfigError, match=r"out\.html: cannot write: "):
        write_atomically(target, b"x")
