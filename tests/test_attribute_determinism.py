"""`attribute --json` is the same bytes whatever the interpreter's hash seed.

Evidence and profiles are sets; when the order they came in decided which of two equally strong
reasons was shown, or how reasons of equal weight were listed, three runs gave three outputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from threatscope.ingest import run_import
from threatscope.store import open_store

CLI = "from threatscope.cli import app; app()"
ARGS = [
    "attribute",
    "--software", "Mimikatz",
    "--software", "Cobalt Strike",
    "--technique", "T1059.001",
    "--json",
]  # fmt: skip


def test_attribute_json_does_not_depend_on_the_hash_seed(
    tmp_path: Path, enterprise_path: Path
) -> None:
    db = tmp_path / "kb.db"
    store = open_store(db)
    run_import(store, "attack", enterprise_path)
    store.close()
    outputs = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-c", CLI, "--db", str(db), *ARGS],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert b"near match, uses sub-technique" in outputs.pop()
