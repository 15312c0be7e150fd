"""ATT&CK Enterprise imported into SQLite and into PostgreSQL: the store's share of an import.

The bundle is read and validated once; each round then writes it into a new SQLite file and a
new PostgreSQL database, timing `upsert` alone (objects and their index rows) and the whole write
(upsert plus the derived tables: actors, CVE links, incident facts), as `threatscope import`
does. Target of issue 13: PostgreSQL <= 2x SQLite.

    .venv/bin/python bench/bench_store_backends.py [--rounds 3] [--file PATH]

PostgreSQL: the server THREATSCOPE_TEST_POSTGRES_URL names (a role allowed to create databases),
else a throwaway local one started as the tests start theirs (tests/postgres_server.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from postgres_server import ENV, PostgresServer, binaries, throwaway_server  # noqa: E402
from threatscope.ingest import load_source, write_objects  # noqa: E402
from threatscope.store import Store, open_store  # noqa: E402

DATA = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_FILE = DATA / "attack" / "enterprise-attack-18.1.json"


@contextmanager
def server() -> Iterator[PostgresServer]:
    given = os.environ.get(ENV)
    if given:
        found = PostgresServer(given)
        try:
            yield found
        finally:
            found.drop_created()
        return
    bin_dir = binaries()
    if bin_dir is None:
        sys.exit(f"no PostgreSQL: install Debian's postgresql or set {ENV}")
    with throwaway_server(bin_dir) as started:
        yield started


def timed(open_new: Callable[[], Store], write: Callable[[Store], object]) -> float:
    store = open_new()
    try:
        start = time.perf_counter()
        write(store)
        return time.perf_counter() - start
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    args = parser.parse_args()
    path, objects = load_source("attack", args.file)
    print(f"{len(objects)} objects from {args.file.name}; {args.rounds} rounds, median seconds")

    def upsert_only(store: Store) -> None:
        with store.write() as writer:
            writer.upsert(objects, source="attack", path=str(path))

    def whole_write(store: Store) -> None:
        write_objects(store, "attack", path, objects)

    with server() as pg, tempfile.TemporaryDirectory() as tmp:
        files = (Path(tmp) / f"kb{n}.db" for n in range(1_000))
        backends: dict[str, Callable[[], Store]] = {
            "SQLite": lambda: open_store(next(files)),
            "PostgreSQL": lambda: open_store(pg.create_database("bench")),
        }
        results: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for what, write in (("upsert", upsert_only), ("import", whole_write)):
                for name, open_new in backends.items():
                    results.setdefault((name, what), []).append(timed(open_new, write))
    for what in ("upsert", "import"):
        sqlite = statistics.median(results[("SQLite", what)])
        postgres = statistics.median(results[("PostgreSQL", what)])
        print(
            f"{what:<7} SQLite {sqlite:6.2f} s   PostgreSQL {postgres:6.2f} s"
            f"   ratio {postgres / sqlite:4.2f} (target <= 2.00)"
        )


if __name__ == "__main__":
    main()
