"""Full ATT&CK Enterprise import vs `stix2.parse(bundle, allow_custom=True)` on the same file.

Each side runs in its own fresh process (so peak memory is its own) and the ratio is printed:

    .venv/bin/python bench/bench_attack_import.py [--rounds 3] [--file PATH]

Ours = read + parse + validate + upgrade 2.0->2.1 + store in SQLite + index + actor resolution.
The target of issue "Foundation" is ours <= 0.25 x stix2's parse alone, peak memory < 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_FILE = DEFAULT / "attack" / "enterprise-attack-18.1.json"


def run_ours(file: Path) -> dict[str, float]:
    from threatscope.ingest import run_import
    from threatscope.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        store = open_store(Path(tmp) / "kb.db")
        report = run_import(store, "attack", file)
        store.close()
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "objects": report.added}


def run_stix2(file: Path) -> dict[str, float]:
    import stix2

    start = time.perf_counter()
    bundle = stix2.parse(file.read_text(), allow_custom=True)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "objects": len(bundle.objects)}


def child(which: str, file: Path) -> None:
    result = run_ours(file) if which == "ours" else run_stix2(file)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(which: str, file: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", which, "--file", str(file)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["ours", "stix2"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file)
        return
    if not args.file.exists():
        sys.exit(f"{args.file} is absent: set THREATSCOPE_DATA or pass --file")
    ours = [measure("ours", args.file) for _ in range(args.rounds)]
    peer = [measure("stix2", args.file) for _ in range(max(1, args.rounds // 3))]
    ours_s = statistics.median(r["seconds"] for r in ours)
    peer_s = statistics.median(r["seconds"] for r in peer)
    print(f"file: {args.file} ({args.file.stat().st_size / 2**20:.1f} MiB)")
    for label, runs, seconds in (
        ("threatscope import (parse+validate+store+index+resolve)", ours, ours_s),
        ("stix2.parse(bundle, allow_custom=True) alone", peer, peer_s),
    ):
        peak = max(r["peak_mib"] for r in runs)
        print(
            f"{label:<56} {seconds:6.2f} s (median of {len(runs)}), "
            f"{int(runs[0]['objects'])} objects, peak {peak:.0f} MiB"
        )
    print(f"ratio ours/stix2: {ours_s / peer_s:.3f} (target <= 0.25)")


if __name__ == "__main__":
    main()
