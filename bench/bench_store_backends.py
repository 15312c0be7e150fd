"""SQLite against PostgreSQL in one run: import, landscape at scale, concurrent imports and reads.

    .venv/bin/python bench/bench_store_backends.py [--rounds 3] [--incidents 1000000]
        [--seconds 60] [--importers 8] [--readers 8] [--only import,landscape,concurrency]

a) ATT&CK Enterprise import. The bundle is read and validated once; each round writes it into a
   new SQLite file and a new PostgreSQL database, timing `upsert` alone (objects and their index
   rows) and the whole write (upsert plus the derived tables: actors, CVE links, incident facts),
   as `threatscope import` does. Target of issue 13: PostgreSQL <= 2x SQLite.
b) `landscape()` end to end over `--incidents` synthetic incidents (bench_landscape.py's, with the
   MISP galaxy packaged with pymispgalaxies so named initiators resolve to actors), loaded into
   each backend through the writer's `replace_incident_facts` (COPY on PostgreSQL; loading is not
   timed). Each round opens a fresh store as the CLI does, after one untimed run. The two
   backends' results must be equal (else the line says RESULTS DIFFER). Target: < 2 s on each.
c) `--importers` processes import small distinct STIX bundles (intrusion sets, malware and `uses`
   relationships, new ids each time) through `run_import` over and over, while `--readers`
   processes run `landscape()`, `actor list` and `stats` in turn, for `--seconds` on each
   backend (a knowledge base holding the MISP galaxy and the reduced EuRepoC export). Reported:
   imports/s, reads/s, errors (must be 0), objects lost (every object of every committed import
   looked up at the end; must be 0), and whether any process hung (a deadlock).

PostgreSQL: the server THREATSCOPE_TEST_POSTGRES_URL names (a role allowed to create databases),
else a throwaway local one started as the tests start theirs (tests/postgres_server.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402

from bench_landscape import synthetic_incidents  # noqa: E402
from postgres_server import ENV, PostgresServer, binaries, throwaway_server  # noqa: E402
from threatscope.ingest import load_source, run_import, write_objects  # noqa: E402
from threatscope.landscape.compute import landscape  # noqa: E402
from threatscope.landscape.facts import facts_of  # noqa: E402
from threatscope.landscape.selection import Filters  # noqa: E402
from threatscope.store import SQLiteStore, Store, open_store  # noqa: E402
from threatscope.store.postgres import libpq_url  # noqa: E402

DATA = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_FILE = DATA / "attack" / "enterprise-attack-18.1.json"
REDUCED = DATA / "incidents" / "eurepoc-reduced-2026-03" / "cyber_incidents_ref.csv"
PARTS = ("import", "landscape", "concurrency")
LANDSCAPES = {
    "default": Filters(),
    "--sector technology": Filters(sector="technology"),
    "--count fractional": Filters(count="fractional"),
    "--victim-region europe": Filters(victim_region="europe"),
}
T0 = "2020-01-01T00:00:00.000Z"
# Each bundle of the concurrency part: this many intrusion sets, as many malware, and a `uses`
# relationship from each set to its malware.
PER_BUNDLE = 5
NAMESPACE = uuid.UUID("6c1b9a52-6f1e-4f3f-9a3e-2d5b8f1c0a11")


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


def ratio_line(what: str, sqlite: float, postgres: float, target: str) -> str:
    return (
        f"{what:<38} {sqlite:9.3f} {postgres:11.3f}   {postgres / sqlite:5.2f}   {target}"
    )


# -- a) ATT&CK import --------------------------------------------------------------------------


def timed(open_new: Callable[[], Store], write: Callable[[Store], object]) -> float:
    store = open_new()
    try:
        start = time.perf_counter()
        write(store)
        return time.perf_counter() - start
    finally:
        store.close()


def bench_import(pg: PostgresServer, tmp: Path, rounds: int, file: Path) -> list[str]:
    path, objects = load_source("attack", file)
    print(f"a) {len(objects)} objects from {file.name}; {rounds} rounds", flush=True)

    def upsert_only(store: Store) -> None:
        with store.write() as writer:
            writer.upsert(objects, source="attack", path=str(path))

    def whole_write(store: Store) -> None:
        write_objects(store, "attack", path, objects)

    files = (tmp / f"attack{n}.db" for n in range(1_000))
    backends: dict[str, Callable[[], Store]] = {
        "SQLite": lambda: open_store(next(files)),
        "PostgreSQL": lambda: open_store(pg.create_database("bench")),
    }
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for what, write in (("upsert", upsert_only), ("import", whole_write)):
            for name, open_new in backends.items():
                results.setdefault((name, what), []).append(timed(open_new, write))
    return [
        ratio_line(
            f"ATT&CK {what} (s, median of {rounds})",
            statistics.median(results[("SQLite", what)]),
            statistics.median(results[("PostgreSQL", what)]),
            "PG <= 2x SQLite",
        )
        for what in ("upsert", "import")
    ]


# -- b) landscape over synthetic incidents ------------------------------------------------------


def load_incidents(location: Path | str, count: int, refs: list[str] | None) -> list[str]:
    """The MISP galaxy, then `count` synthetic incidents naming its actors; returns the actor
    references used (from the first backend, so the second gets the same incidents)."""
    with open_store(location) as store:
        run_import(store, "misp-galaxy")
        if refs is None:
            refs = sorted(
                member
                for member, actor in store.actor_members().items()
                if actor in {a for a, _, nexus in store.actor_rows() if nexus}
            )
        with store.write() as writer:
            writer.replace_incident_facts(
                facts_of(incident, "synthetic") for incident in synthetic_incidents(count, refs)
            )
    # Fresh statistics for the planner, as a database after its autovacuum/ANALYZE would have.
    if isinstance(location, Path):
        with SQLiteStore(location) as store:
            store.analytics().execute("ANALYZE")
    else:
        settled_vacuum(libpq_url(location))
    return refs


def settled_vacuum(url: str) -> None:
    """VACUUM ANALYZE once no other session of the database holds a snapshot (an autovacuum
    worker started during the load does): until then VACUUM cannot mark the new rows
    all-visible, and the landscape's covering indexes could not be read without the table."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(600):
            others = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL"
            ).fetchone()
            if not others or not others[0]:
                break
            time.sleep(0.1)
        conn.execute("VACUUM ANALYZE")
        hidden = conn.execute(
            "SELECT coalesce(sum(relpages - relallvisible), 0) FROM pg_class"
            " WHERE relname LIKE 'incident%' AND relkind = 'r'"
        ).fetchone()
        if hidden and hidden[0]:
            print(f"   note: {hidden[0]} incident table pages not yet all-visible", flush=True)


def timed_landscape(location: Path | str, rounds: int, filters: Filters) -> tuple[float, str]:
    # One untimed run first: this process's first landscape also loads the taxonomies and
    # modules, which would be charged to whichever backend happened to go first.
    with open_store(location, create=False, read_only=True) as store:
        landscape(store, filters)
    times, shown = [], ""
    for _ in range(rounds):
        with open_store(location, create=False, read_only=True) as store:
            began = time.perf_counter()
            result = landscape(store, filters)
            times.append(time.perf_counter() - began)
            shown = json.dumps(result)
    return statistics.median(times), shown


def bench_landscape(pg: PostgresServer, tmp: Path, rounds: int, count: int) -> list[str]:
    locations: dict[str, Path | str] = {
        "SQLite": tmp / "landscape.db",
        "PostgreSQL": pg.create_database("landscape"),
    }
    refs = None
    for name, location in locations.items():
        print(f"b) loading {count:,} synthetic incidents into {name} …", flush=True)
        began = time.perf_counter()
        refs = load_incidents(location, count, refs)
        print(f"   loaded in {time.perf_counter() - began:.1f} s (not timed below)", flush=True)
    lines = []
    for label, filters in LANDSCAPES.items():
        (sqlite, expected), (postgres, got) = (
            timed_landscape(location, rounds, filters) for location in locations.values()
        )
        same = "" if got == expected else "   RESULTS DIFFER"
        incidents = json.loads(expected)["incidents"]
        lines.append(
            ratio_line(f"landscape {label} (s)", sqlite, postgres, f"< 2 s each{same}")
            + f"  ({incidents:,} in window)"
        )
    return lines


# -- c) concurrent importers and readers --------------------------------------------------------


def bundle_objects(worker: int, number: int) -> list[dict[str, Any]]:
    """The `number`th bundle of importer `worker`: ids derived from both, so the check at the
    end can list every object of every committed import without being told them."""

    def ident(kind: str, k: int) -> str:
        return f"{kind}--{uuid.uuid5(NAMESPACE, f'{worker}/{number}/{k}')}"

    objects: list[dict[str, Any]] = []
    for k in range(PER_BUNDLE):
        common = {"spec_version": "2.1", "created": T0, "modified": T0}
        objects += [
            {"type": "intrusion-set", "id": ident("intrusion-set", k),
             "name": f"Bench group {worker}-{number}-{k}", **common},
            {"type": "malware", "id": ident("malware", k), "is_family": True,
             "name": f"bench-malware-{worker}-{number}-{k}", **common},
            {"type": "relationship", "id": ident("relationship", k), "relationship_type": "uses",
             "source_ref": ident("intrusion-set", k), "target_ref": ident("malware", k), **common},
        ]  # fmt: skip
    return objects


def importer(location: str, worker: int, deadline: float, folder: str, results: Any) -> None:
    committed, errors, first_error = 0, 0, ""
    store = open_store(location)
    try:
        while time.time() < deadline:
            path = Path(folder) / f"w{worker}-{committed}.json"
            objects = bundle_objects(worker, committed)
            path.write_text(json.dumps({"type": "bundle", "objects": objects}))
            try:
                report = run_import(store, "stix", path)
                if report.added != len(objects):
                    raise RuntimeError(f"added {report.added} of {len(objects)}")
                committed += 1
            except Exception as exc:  # counted and shown: the figure must be 0
                errors += 1
                first_error = first_error or "".join(traceback.format_exception_only(exc))
    finally:
        store.close()
    results.put(("import", worker, committed, errors, first_error))


def reader(location: str, worker: int, deadline: float, results: Any) -> None:
    reads, errors, first_error = 0, 0, ""
    store = open_store(location, create=False, read_only=True)
    questions: list[Callable[[], object]] = [
        lambda: landscape(store),
        lambda: store.list_actors(),
        lambda: store.stats(),
    ]
    try:
        while time.time() < deadline:
            try:
                questions[(worker + reads + errors) % len(questions)]()
                reads += 1
            except Exception as exc:
                errors += 1
                first_error = first_error or "".join(traceback.format_exception_only(exc))
    finally:
        store.close()
    results.put(("read", worker, reads, errors, first_error))


def run_concurrently(
    location: str, seconds: float, importers: int, readers: int, folder: Path
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    starting = 10.0  # spawned interpreters import ThreatScope before the clock starts
    deadline = time.time() + starting + seconds
    processes = [
        context.Process(target=importer, args=(location, w, deadline, str(folder), results))
        for w in range(importers)
    ]
    processes += [
        context.Process(target=reader, args=(location, w, deadline, results))
        for w in range(readers)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=starting + seconds + 300) for _ in processes]
    hung = 0
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            hung += 1
            process.kill()
    committed = {worker: n for kind, worker, n, _, _ in reports if kind == "import"}
    with open_store(location, create=False, read_only=True) as store:
        lost = sum(
            store.get_object(obj["id"]) is None
            for worker, count in committed.items()
            for number in range(count)
            for obj in bundle_objects(worker, number)
        )
    errors = [(kind, message) for kind, _, _, n, message in reports if n]
    return {
        "imports": sum(committed.values()),
        "reads": sum(n for kind, _, n, _, _ in reports if kind == "read"),
        "errors": sum(n for _, _, _, n, _ in reports),
        "first_errors": errors[:3],
        "lost": lost,
        "hung": hung,
    }


def bench_concurrency(
    pg: PostgresServer, tmp: Path, seconds: float, importers: int, readers: int
) -> list[str]:
    locations = {"SQLite": str(tmp / "concurrent.db"), "PostgreSQL": pg.create_database("conc")}
    outcome = {}
    for name, location in locations.items():
        with open_store(location) as store:
            run_import(store, "misp-galaxy")
            run_import(store, "eurepoc", REDUCED)
        print(
            f"c) {importers} importers + {readers} readers for {seconds:g} s on {name} …",
            flush=True,
        )
        folder = tmp / f"bundles-{name}"
        folder.mkdir()
        outcome[name] = run_concurrently(location, seconds, importers, readers, folder)
        for kind, message in outcome[name]["first_errors"]:
            print(f"   {kind} error: {message.strip()}")
    sqlite, postgres = outcome["SQLite"], outcome["PostgreSQL"]
    return [
        ratio_line("concurrent imports/s", sqlite["imports"] / seconds,
                   postgres["imports"] / seconds, f"{importers} importer processes"),
        ratio_line("concurrent reads/s", sqlite["reads"] / seconds,
                   postgres["reads"] / seconds, f"{readers} readers: landscape/actors/stats"),
        f"{'errors (must be 0)':<38} {sqlite['errors']:9d} {postgres['errors']:11d}",
        f"{'objects lost (must be 0)':<38} {sqlite['lost']:9d} {postgres['lost']:11d}"
        f"   of {sqlite['imports'] * 3 * PER_BUNDLE} and {postgres['imports'] * 3 * PER_BUNDLE}",
        f"{'processes hung (deadlock; 0)':<38} {sqlite['hung']:9d} {postgres['hung']:11d}",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of a) and b) (median)")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="the ATT&CK bundle")
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--importers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run")
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    if unknown := set(parts) - set(PARTS):
        known = ", ".join(PARTS)
        parser.error(f"--only: unknown part {', '.join(sorted(unknown))}; known: {known}")
    lines: list[str] = []
    with server() as pg, tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if "import" in parts:
            lines += bench_import(pg, tmp, args.rounds, args.file)
        if "landscape" in parts:
            lines += bench_landscape(pg, tmp, args.rounds, args.incidents)
        if "concurrency" in parts:
            lines += bench_concurrency(pg, tmp, args.seconds, args.importers, args.readers)
    print()
    print(f"{'':<38} {'SQLite':>9} {'PostgreSQL':>11}   PG/SQLite")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
