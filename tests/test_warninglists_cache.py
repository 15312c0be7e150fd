"""The warning-list index is an SQLite file that a process opens without loading the 2.4 million
list entries (issue 12, item 3: loading them whole was most of `extract`'s own start-up)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from threatscope.extract.warninglists import _cache_path, load_warninglists, lookup

LOOKUP = (
    "from threatscope.extract.warninglists import lookup\n"
    "print(lookup('ip', '10.1.2.3'), lookup('domain', 'www.google.com'))\n"
)


def test_cache_keeps_the_entries_in_an_indexed_table_and_little_to_unpickle() -> None:
    load_warninglists()
    with sqlite3.connect(f"{_cache_path().as_uri()}?mode=ro", uri=True) as database:
        (entries,) = database.execute("SELECT count(*) FROM entries").fetchone()
        (pickled,) = database.execute("SELECT length(value) FROM meta").fetchone()
        (listed,) = database.execute(
            "SELECT count(*) FROM entries WHERE value = 'google.com'"
        ).fetchone()
    assert entries > 2_000_000
    assert pickled < 1_000_000  # CIDR ranges, substring entries, regexes: what opening reads
    assert listed > 5  # the top-sites lists, among others
    assert "List of known google domains" in lookup("domain", "www.google.com")


def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    probe = [sys.executable, "-c", "from threatscope.extract.warninglists import _cache_path"
             "\nprint(_cache_path())"]  # fmt: skip
    cache = Path(subprocess.run(probe, env=env, capture_output=True, text=True).stdout.strip())
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not a database" * 100)
    done = subprocess.run(
        [sys.executable, "-c", LOOKUP], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "'List of RFC 1918 CIDR blocks'" in done.stdout
    assert "'List of known google domains'" in done.stdout
    with sqlite3.connect(f"{cache.as_uri()}?mode=ro", uri=True) as database:
        assert database.execute("SELECT count(*) FROM meta").fetchone() == (1,)
