"""The TAXII 2.1 server on a large collection, over HTTP on loopback, beside medallion.

1. Synthetic STIX indicators (TLP:CLEAR) are written through the store, in imports of 100,000.
2. `threatscope serve --anonymous-read` runs in a process of its own; one client pages through
   the whole knowledge-base collection (`limit` objects a page, following `next`): p50/p99 page
   latency (target of issue 14: p99 < 50 ms for pages of 1,000 from 1,000,000 objects), and
   every object must come back once.
3. `--clients` clients page concurrently for `--seconds`: requests, errors (must be 0), latency.
4. medallion (the OASIS reference server, memory backend) on the same objects, at growing sizes
   until a page takes longer than `--medallion-timeout` or the sizes run out: the same page walk,
   and the ratio of its page latency to ours.

    .venv/bin/python bench/bench_taxii.py [--objects 1000000] [--page 1000] [--clients 32]
        [--seconds 60] [--backend sqlite|postgresql|both] [--medallion-sizes 1000,4000,16000]

Quick run: --objects 20000 --seconds 5 --medallion-sizes 1000. PostgreSQL: the server
THREATSCOPE_TEST_POSTGRES_URL names, else a throwaway local one (tests/postgres_server.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from http_server import free_port  # noqa: E402
from postgres_server import ENV, binaries, throwaway_server  # noqa: E402
from threatscope.server.taxii_collections import collection_id  # noqa: E402
from threatscope.store import open_store  # noqa: E402

TAXII = "application/taxii+json;version=2.1"
CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
BATCH = 100_000
_NAMESPACE = uuid.UUID("3f0d5b8e-6c1a-4a8e-9a57-2d1f0c7e4b11")


def synthetic(start: int, count: int) -> list[dict[str, Any]]:
    """Indicators `start` … `start + count - 1`: the same objects on every run."""
    objects = []
    for n in range(start, start + count):
        stamp = f"2025-{n % 12 + 1:02d}-{n % 28 + 1:02d}T{n % 24:02d}:00:00.000Z"
        objects.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uuid.uuid5(_NAMESPACE, str(n))}",
                "created": stamp,
                "modified": stamp,
                "name": f"Synthetic indicator {n}",
                "pattern": f"[ipv4-addr:value = '10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}']",
                "pattern_type": "stix",
                "valid_from": stamp,
                "indicator_types": ["malicious-activity"],
                "object_marking_refs": [CLEAR],
            }
        )
    return objects


def build(location: str, total: int) -> float:
    started = time.perf_counter()
    with open_store(location) as store:
        for start in range(0, total, BATCH):
            with store.write() as writer:
                writer.upsert(synthetic(start, min(BATCH, total - start)), "stix", "synthetic")
    return time.perf_counter() - started


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def running(command: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        wait_for(url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def ours(location: str) -> tuple[list[str], str]:
    port = free_port()
    command = [
        sys.executable, "-c", "from threatscope.cli import app; app()",
        "--db", location, "serve", "--port", str(port), "--anonymous-read",
    ]
    return command, f"http://127.0.0.1:{port}"


def walk(
    client: httpx.Client, objects_url: str, page: int, timeout: float = 60
) -> tuple[list[float], int]:
    """Every page of a collection: the latency of each (seconds) and the objects received."""
    latencies: list[float] = []
    received = 0
    params: dict[str, str] = {"limit": str(page)}
    while True:
        started = time.perf_counter()
        response = client.get(objects_url, params=params, timeout=timeout)
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
        envelope = response.json()
        received += len(envelope.get("objects", []))
        if not envelope.get("more"):
            return latencies, received
        params = {"limit": str(page), "next": envelope["next"]}


def percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def concurrent(objects_url: str, page: int, clients: int, seconds: float) -> dict[str, Any]:
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client_loop() -> None:
        mine: list[float] = []
        with httpx.Client(headers={"Accept": TAXII}) as client:
            params: dict[str, str] = {"limit": str(page)}
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    response = client.get(objects_url, params=params, timeout=30)
                    mine.append(time.perf_counter() - started)
                    response.raise_for_status()
                    envelope = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    with lock:
                        errors.append(repr(exc)[:200])
                    params = {"limit": str(page)}
                    continue
                more = envelope.get("more")
                params = {"limit": str(page), **({"next": envelope["next"]} if more else {})}
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    p50, p99 = percentiles(latencies) if len(latencies) > 1 else (0.0, 0.0)
    return {
        "requests": len(latencies),
        "per_second": round(len(latencies) / elapsed, 1),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
    }


def bench_ours(location: str, args: argparse.Namespace) -> dict[str, Any]:
    command, url = ours(location)
    objects_url = f"{url}/taxii2/api/collections/{collection_id('all')}/objects/"
    with running(command, f"{url}/healthz"):
        with httpx.Client(headers={"Accept": TAXII}) as client:
            walk(client, objects_url, args.page)  # warm the page cache once
            latencies, received = walk(client, objects_url, args.page)
        p50, p99 = percentiles(latencies)
        load = concurrent(objects_url, args.page, args.clients, args.seconds)
    return {
        "pages": len(latencies),
        "objects_received": received,
        "all_received": received == args.objects,
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "target_p99_below_50ms": p99 < 50,
        f"concurrent_{args.clients}_clients_{args.seconds:g}s": load,
    }


def medallion_data(count: int, folder: Path) -> Path:
    objects = synthetic(0, count)
    added = "2025-12-01T00:00:00.000000Z"
    data = {
        "/discovery": {
            "title": "bench",
            "default": "http://127.0.0.1/api/",
            "api_roots": ["http://127.0.0.1/api/"],
        },
        "api": {
            "information": {"title": "bench", "versions": [TAXII], "max_content_length": 10**9},
            "status": [],
            "collections": [
                {
                    "id": collection_id("all"),
                    "title": "all",
                    "can_read": True,
                    "can_write": False,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [{**obj, "_date_added": added} for obj in objects],
                    "manifest": [
                        {
                            "id": obj["id"],
                            "date_added": added,
                            "version": obj["modified"],
                            "media_type": "application/stix+json;version=2.1",
                        }
                        for obj in objects
                    ],
                }
            ],
        },
    }
    path = folder / f"medallion-{count}.json"
    path.write_text(json.dumps(data))
    return path


def bench_medallion(args: argparse.Namespace, folder: Path) -> dict[str, Any] | None:
    """The page walk on medallion at each size until one is too slow; the largest it held."""
    largest: dict[str, Any] | None = None
    for size in args.medallion_sizes:
        data = medallion_data(size, folder)
        config = folder / "medallion.json"
        config.write_text(
            json.dumps(
                {
                    "backend": {
                        "module": "medallion.backends.memory_backend",
                        "module_class": "MemoryBackend",
                        "filename": str(data),
                    },
                    "users": {"bench": "bench"},
                    "taxii": {"max_page_size": args.page},
                }
            )
        )
        port = free_port()
        command = [
            str(Path(sys.executable).with_name("medallion")),
            "--host", "127.0.0.1", "--port", str(port), str(config),
        ]
        url = f"http://127.0.0.1:{port}"
        objects_url = f"{url}/api/collections/{collection_id('all')}/objects/"
        try:
            with running(command, f"{url}/taxii2/"):
                auth = httpx.BasicAuth("bench", "bench")
                with httpx.Client(headers={"Accept": TAXII}, auth=auth) as client:
                    latencies, received = walk(
                        client, objects_url, args.page, timeout=args.medallion_timeout
                    )
        except (httpx.HTTPError, RuntimeError) as exc:
            print(f"medallion, {size} objects: failed ({exc!r:.120})", file=sys.stderr)
            break
        p50, p99 = percentiles(latencies) if len(latencies) > 1 else (latencies[0] * 1000,) * 2
        largest = {
            "objects": size,
            "objects_received": received,
            "pages": len(latencies),
            "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1),
        }
        print(f"medallion, {size} objects: {largest}", file=sys.stderr)
        if p99 / 1000 > args.medallion_timeout:
            break
    return largest


@contextmanager
def locations(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield str(folder / "bench.db")
        return
    given = os.environ.get(ENV)
    if given:
        yield given
        return
    found = binaries()
    if found is None:
        raise SystemExit("no PostgreSQL binaries: set THREATSCOPE_TEST_POSTGRES_URL")
    with throwaway_server(found) as server:
        yield str(server.create_database())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--medallion-sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1_000, 2_000, 4_000, 8_000],
    )
    parser.add_argument("--medallion-timeout", type=float, default=30.0)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results: dict[str, Any] = {"objects": args.objects, "page": args.page}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-taxii-")))
        for backend in backends:
            location = stack.enter_context(locations(backend, folder))
            seconds = build(location, args.objects)
            print(f"{backend}: {args.objects} objects written in {seconds:.1f} s", file=sys.stderr)
            results[backend] = {"build_s": round(seconds, 1), **bench_ours(location, args)}
            print(f"{backend}: {results[backend]}", file=sys.stderr)
        medallion = bench_medallion(args, folder)
        results["medallion"] = medallion
        if medallion is not None:
            for backend in backends:
                ratio = medallion["p50_ms"] / max(results[backend]["p50_ms"], 0.001)
                results[f"medallion_p50_over_{backend}_p50"] = round(ratio, 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
