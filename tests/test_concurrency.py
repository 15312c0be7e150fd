"""Many importers and readers at once on one knowledge base, on each backend: every object
lands, every import is recorded, no reader fails or waits for ever, nobody deadlocks.

Writers are separate `threatscope import` processes racing to create the knowledge base too;
readers are threads of this process asking what analysts ask while the imports run: stats, the
actor list and the landscape over a table of incidents imported alongside.

Readers start with the importers, while the file is being created. On SQLite this found two
bugs: an importer calling the new file "not a ThreatScope knowledge base" (its mark and its
tables read in two snapshots), and readers failing with "database disk image is malformed"
(opening the file outside SQLite dropped this process's locks, store/sqlite.py `_file_state`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from conftest import ROOT
from threatscope import KnowledgeBase
from threatscope.errors import ConfigError

T0 = "2020-01-01T00:00:00.000Z"
WRITERS, PER_BUNDLE, READERS = 6, 300, 2


def _group(number: int, index: int) -> dict[str, Any]:
    return {
        "type": "intrusion-set",
        "spec_version": "2.1",
        "id": f"intrusion-set--{uuid.uuid4()}",
        "created": T0,
        "modified": T0,
        "name": f"Writer {number} group {index}",
        "aliases": [f"W{number}-{index}"],
    }


def _spawn(location: str, folder: Path, *args: str) -> subprocess.Popen[bytes]:
    cli = Path(sys.executable).parent / "threatscope"
    return subprocess.Popen(
        [str(cli), "--db", location, "import", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=folder,
    )


def test_concurrent_importers_and_readers_lose_nothing(kb_location: str, tmp_path: Path) -> None:
    bundles = []
    for number in range(WRITERS):
        groups = [_group(number, i) for i in range(PER_BUNDLE)]
        path = tmp_path / f"bundle-{number}.json"
        path.write_text(json.dumps({"type": "bundle", "objects": groups}), encoding="utf-8")
        bundles.append((groups, path))
    fixtures = ROOT / "tests" / "fixtures"
    procs = [_spawn(kb_location, tmp_path, "stix", str(path)) for _, path in bundles]
    procs.append(
        _spawn(
            kb_location,
            tmp_path,
            "table",
            str(fixtures / "incidents.csv"),
            "--mapping",
            str(fixtures / "incidents.toml"),
        )
    )
    failures: list[BaseException] = []
    reads = [0] * READERS
    seen: set[int] = set()  # landscape incident counts readers saw
    done = threading.Event()

    def read_all_the_time(slot: int) -> None:
        try:
            while not done.is_set():
                try:
                    kb = KnowledgeBase(kb_location, read_only=True)
                    kb.stats()
                except ConfigError:  # no knowledge base yet
                    time.sleep(0.05)
                    continue
                with kb:
                    for _ in range(5):
                        stats = kb.stats()
                        assert stats.actors <= WRITERS * PER_BUNDLE + 10
                        kb.actors()
                        if stats.objects.get("incident"):
                            figures = kb.landscape(ending="2025-12-31", months=12)
                            seen.add(figures.incidents)
                        reads[slot] += 1
        except BaseException as exc:
            failures.append(exc)

    readers = [threading.Thread(target=read_all_the_time, args=(i,)) for i in range(READERS)]
    for reader in readers:
        reader.start()
    try:
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        done.set()
        for reader in readers:
            reader.join(timeout=60)
    assert [p.returncode for p in procs] == [0] * len(procs), [e.decode() for _, e in outputs]
    assert failures == []
    assert all(count > 0 for count in reads), reads
    added = sorted(json.loads(out)["added"] for out, _ in outputs[:WRITERS])
    assert added == [PER_BUNDLE] * WRITERS
    with KnowledgeBase(kb_location, read_only=True) as kb:
        stored = {o["id"] for o in kb.store.iter_objects(types=["intrusion-set"])}
        assert stored == {g["id"] for groups, _ in bundles for g in groups}
        history = kb.imports().as_list()
        assert sorted(h["id"] for h in history) == list(range(1, len(procs) + 1))
        final = kb.landscape(ending="2025-12-31", months=12).incidents
    # The table lands in one transaction: a reader sees all of its incidents or none.
    assert final > 0 and seen <= {final}
