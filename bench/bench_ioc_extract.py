"""IOC extraction throughput: ours vs `ioc-finder` and `iocextract` on the AnnoCTR texts.

    .venv/bin/python bench/bench_ioc_extract.py [--rounds 3] [--peer-rounds 1] [--dir DIR]

Every extractor gets the same documents, read into memory first, in the same process. Ours
runs with warning-list flagging on (the list index is built once beforehand; that load time is
printed on its own line and left out of the throughput). Each side's best round counts; the
target of the issue is ours >= 20x the faster peer. The peers are benchmark-only dependencies.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_DIR = DATA / "text" / "annoctr"


def corpus(directory: Path) -> list[str]:
    files = sorted(directory.glob("train/*.txt")) + sorted(directory.glob("dev/*.txt"))
    return [path.read_text(encoding="utf-8") for path in files]


def ours() -> Callable[[str], int]:
    from threatscope.extract import extract_iocs

    return lambda text: len(extract_iocs(text))


def ioc_finder() -> Callable[[str], int]:
    from ioc_finder import find_iocs

    return lambda text: sum(len(v) for v in find_iocs(text).values() if isinstance(v, list))


def iocextract() -> Callable[[str], int]:
    import iocextract as peer

    return lambda text: sum(1 for _ in peer.extract_iocs(text, refang=True))


def best_seconds(extract: Callable[[str], int], texts: list[str], rounds: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(rounds):
        start = time.perf_counter()
        count = sum(extract(text) for text in texts)
        best = min(best, time.perf_counter() - start)
    return best, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--rounds", type=int, default=3, help="rounds for ours")
    parser.add_argument("--peer-rounds", type=int, default=1, help="rounds for each peer")
    args = parser.parse_args()
    texts = corpus(args.dir)
    if not texts:
        print(f"no .txt files under {args.dir}/{{train,dev}} (set THREATSCOPE_DATA)")
        return 2
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    print(f"corpus: {len(texts)} documents, {megabytes:.2f} MB from {args.dir}")

    from threatscope.extract import load_warninglists

    start = time.perf_counter()
    load_warninglists()
    print(
        f"warning-list index load (once per process, excluded): {time.perf_counter() - start:.2f} s"
    )

    sides = [("threatscope", ours, args.rounds)]
    sides += [
        ("ioc-finder", ioc_finder, args.peer_rounds),
        ("iocextract", iocextract, args.peer_rounds),
    ]
    seconds: dict[str, float] = {}
    print(f"{'extractor':<12} {'seconds':>9} {'MB/s':>8} {'docs/s':>9} {'IOCs':>7}")
    for name, factory, rounds in sides:
        try:
            extract = factory()
        except ImportError:
            print(f"{name:<12} not installed (pip install {name})")
            continue
        extract(texts[0])  # imports and lazy set-up are not throughput
        took, count = best_seconds(extract, texts, rounds)
        seconds[name] = took
        print(
            f"{name:<12} {took:>9.3f} {megabytes / took:>8.2f} {len(texts) / took:>9.1f} {count:>7}"
        )
    for peer in ("ioc-finder", "iocextract"):
        if peer in seconds:
            print(f"ours / {peer}: {seconds[peer] / seconds['threatscope']:.1f}x faster")
    peers = [seconds[p] for p in ("ioc-finder", "iocextract") if p in seconds]
    if peers:
        ratio = min(peers) / seconds["threatscope"]
        verdict = "meets" if ratio >= 20 else "MISSES"
        print(f"vs the faster peer: {ratio:.1f}x ({verdict} the 20x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
