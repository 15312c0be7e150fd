"""SQLite keeps POSIX locks on the database file, and closing any descriptor of that file drops
all of the process's locks on it. Opening a second knowledge base in a process that already has
one open (a server opens one per thread and per write) must not do that: another process then
takes itself for the last connection when it closes, deletes the WAL, and the server's readers
fail with "file is not a database" (found running `threatscope import` beside the server)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from threatscope import KnowledgeBase
from threatscope.store import open_store


def _bundle(path: Path, number: int) -> Path:
    obj = {
        "type": "intrusion-set",
        "spec_version": "2.1",
        "id": f"intrusion-set--7e4d2c1a-0000-4000-8000-00000000010{number}",
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
        "name": f"Lock Bear {number}",
    }
    path.write_text(
        json.dumps({"type": "bundle", "id": "bundle--" + obj["id"][15:], "objects": [obj]})
    )
    return path


def test_a_connection_elsewhere_closing_leaves_this_process_readers_working(
    tmp_path: Path,
) -> None:
    location = str(tmp_path / "kb.db")
    with KnowledgeBase(location) as kb:
        kb.import_file("stix", _bundle(tmp_path / "one.json", 1))
    reader = open_store(location, create=False, read_only=True)
    try:
        assert reader.stats()["objects"]["intrusion-set"] == 1
        # Another knowledge base opened here, as the server does per thread and per write.
        KnowledgeBase(location, read_only=True).close()
        # Another process opens the file and closes it (any CLI command beside the server).
        code = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
            " c.execute('SELECT count(*) FROM sqlite_master').fetchone(); c.close()"
        )
        subprocess.run([sys.executable, "-c", code, location], check=True)
        assert (tmp_path / "kb.db-wal").exists()  # still ours: the other was not the last
        with KnowledgeBase(location) as kb:
            kb.import_file("stix", _bundle(tmp_path / "two.json", 2))
        assert reader.stats()["objects"]["intrusion-set"] == 2
    finally:
        reader.close()
