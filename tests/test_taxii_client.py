"""`threatscope import taxii` against real TAXII 2.1 servers on loopback: our own (`threatscope
serve`'s app on uvicorn, each backend, real user accounts and tokens) and medallion, the OASIS
reference server (memory backend, started here as bench/bench_taxii.py starts it).

ATT&CK Enterprise pulled whole arrives object for object as the server holds it; a second pull
asks only after the stored resume point and gets nothing, a pull after the server imported more
gets exactly those; a GREEN token never receives an AMBER or RED object; bad credentials, a
missing collection and a bad object fail with exit 2, one line, and nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from conftest import new_location, shared_file
from http_server import free_port, serving
from threatscope import KnowledgeBase
from threatscope.cli import app
from threatscope.server import create_app
from threatscope.server.taxii_collections import collection_id
from threatscope.stix.tlp import object_tlp_rank, tlp_definitions

FIXTURE = Path(__file__).parent / "fixtures" / "tlp_levels.json"
TAXII = "application/taxii+json;version=2.1"
ALL = collection_id("all")
ATTACK = collection_id("source:attack")


def identities(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": f"identity--7a1c0e52-0000-4000-8000-{n:012d}",
            "created": "2025-01-01T00:00:00.000Z",
            "modified": "2025-01-01T00:00:00.000Z",
            "name": f"Identity {n}",
        }
        for n in range(first, first + count)
    ]


def write_bundle(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "bundle", "objects": objects}))
    return path


def pull(db: str | Path, *args: str, token: str | None = None) -> Any:
    env = {} if token is None else {"THREATSCOPE_TAXII_TOKEN": token}
    return CliRunner().invoke(app, ["--db", str(db), "import", "taxii", *args], env=env)


def pulled(db: str | Path, *args: str, token: str | None = None) -> dict[str, Any]:
    result = pull(db, *args, "--json", token=token)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def stored(location: str, source: str | None = None) -> dict[str, dict[str, Any]]:
    with KnowledgeBase(location, read_only=True) as kb:
        return {
            row.data["id"]: row.data
            for row in kb.store.iter_stored(include_revoked=True)
            if source is None or row.source == source
        }


@contextmanager
def our_server(location: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(server URL, token by user): three readers and an analyst with real tokens."""
    tokens: dict[str, str] = {}
    with KnowledgeBase(location) as kb:
        for name, role, clearance in (
            ("gina", "reader", "green"),
            ("clara", "reader", "clear"),
            ("rosa", "reader", "red"),
            ("anna", "analyst", "red"),
        ):
            kb.add_user(name, role, clearance)
            tokens[name] = kb.create_token(name).token
    with serving(create_app(location)) as url:
        yield url, tokens


# -- ATT&CK whole, then resume ------------------------------------------------------------------


@pytest.fixture(scope="module")
def attack_server(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str], str]]:
    location = new_location(request, backend, tmp_path_factory.mktemp("server"))
    with KnowledgeBase(location) as kb:
        kb.import_file("attack", shared_file("attack/enterprise-attack-18.1.json"))
    with our_server(location) as (url, tokens):
        yield url, tokens, location


def test_attack_arrives_exactly_and_a_second_pull_resumes(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path: Path,
    attack_server: tuple[str, dict[str, str], str],
) -> None:
    url, tokens, server_location = attack_server
    client = new_location(request, backend, tmp_path)
    first = pulled(client, f"{url}/taxii2/", "--collection", ATTACK, "--user", "rosa",
                   token=tokens["rosa"])
    served = stored(server_location, "attack")
    assert len(served) == 24771
    assert first["fetched"] == first["added"] == 24771
    assert first["pages"] == 25  # 1,000 a page
    assert (first["url"], first["collection"]) == (f"{url}/taxii2/api/", ATTACK)
    assert first["added_after_used"] is None and first["resumed_from"] is None
    # Every object as the server holds it: ids, versions, every property.
    assert stored(client) == served
    with KnowledgeBase(server_location, read_only=True) as kb:
        added = kb.imports().imports[0]["started"]
    # The resume point is the date_added of the last page, which the server stamps from the
    # import's start (normalised to microseconds).
    assert first["resume_point"] == added

    second = pulled(client, f"{url}/taxii2/api", "--collection", ATTACK, "--user", "rosa",
                    token=tokens["rosa"])
    assert {k: second[k] for k in ("fetched", "added", "pages", "resumed_from")} == {
        "fetched": 0, "added": 0, "pages": 1, "resumed_from": first["resume_point"]
    }
    assert second["added_after_used"] == second["resume_point"] == first["resume_point"]
    with KnowledgeBase(client, read_only=True) as kb:
        history = kb.imports().as_list()
    assert [(i["source"], i["path"], i["received"]) for i in history] == [
        ("taxii", f"{url}/taxii2/api/collections/{ATTACK}/objects/", 24771),
        ("taxii", f"{url}/taxii2/api/collections/{ATTACK}/objects/", 0),
    ]


# -- small collections: resume after new objects, TLP, errors ----------------------------------


@pytest.fixture
def small_server(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str], str]]:
    (tmp_path / "server").mkdir()
    location = new_location(request, backend, tmp_path / "server")
    with KnowledgeBase(location) as kb:
        kb.import_file("stix", write_bundle(tmp_path / "first.json", identities(0, 5)))
    with our_server(location) as (url, tokens):
        yield url, tokens, location


def test_a_resumed_pull_gets_only_what_the_server_added_since(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path: Path,
    small_server: tuple[str, dict[str, str], str],
) -> None:
    url, tokens, server_location = small_server
    client = new_location(request, backend, tmp_path)
    args = (f"{url}/taxii2/", "--collection", ALL, "--user", "rosa")
    first = pulled(client, *args, token=tokens["rosa"])
    assert (first["fetched"], first["added"]) == (5, 5)
    later = identities(100, 3)
    with KnowledgeBase(server_location) as kb:
        kb.import_file("stix", write_bundle(tmp_path / "later.json", later))
    second = pulled(client, *args, token=tokens["rosa"])
    assert (second["fetched"], second["added"], second["unchanged"]) == (3, 3, 0)
    assert second["resumed_from"] == first["resume_point"] < second["resume_point"]
    assert set(stored(client)) == {obj["id"] for obj in identities(0, 5) + later}
    # --added-after asks again from that point; the resume point never moves back.
    again = pulled(client, *args, "--added-after", "2000-01-01T00:00:00Z", token=tokens["rosa"])
    assert (again["fetched"], again["unchanged"]) == (8, 8)
    assert again["added_after_used"] == "2000-01-01T00:00:00Z"
    assert again["resume_point"] == second["resume_point"]


def test_the_python_api_reports_progress_per_page_then_while_storing(
    tmp_path: Path, small_server: tuple[str, dict[str, str], str]
) -> None:
    url, tokens, _ = small_server
    calls: list[tuple[str, int, int | None]] = []
    with KnowledgeBase(tmp_path / "client.db") as kb:
        result = kb.import_taxii(
            f"{url}/taxii2/api/", ALL, token=tokens["rosa"],
            progress=lambda *call: calls.append(call),
        )
    assert (result.fetched, result.added, result.pages) == (5, 5, 1)
    assert calls[0] == ("fetching", 5, None)
    assert calls[-1] == ("storing", 5, 5)
    assert {stage for stage, _, _ in calls} == {"fetching", "storing"}


def test_a_green_token_never_receives_amber_or_red(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path: Path,
    small_server: tuple[str, dict[str, str], str],
) -> None:
    url, tokens, server_location = small_server
    objects = json.loads(FIXTURE.read_text())["objects"]
    with KnowledgeBase(server_location) as kb:
        kb.import_file("stix", FIXTURE)
    custom = tlp_definitions(objects)
    rank = {obj["id"]: object_tlp_rank(obj, "stix", custom) for obj in objects}
    rank.update({obj["id"]: 2 for obj in identities(0, 5)})  # unmarked, private import: AMBER
    client = new_location(request, backend, tmp_path)
    # Bearer this time: no --user.
    result = pulled(client, f"{url}/taxii2/", "--collection", ALL, token=tokens["gina"])
    received = set(stored(client))
    assert received == {i for i, r in rank.items() if r <= 1}
    assert result["fetched"] == len(received) == 5  # three CLEAR (one TLP 1.0 WHITE), two GREEN
    assert not any(rank[i] >= 2 for i in received)


def test_bad_credentials_and_a_missing_collection_exit_2_writing_nothing(
    tmp_path: Path, small_server: tuple[str, dict[str, str], str]
) -> None:
    url, tokens, _ = small_server
    client = tmp_path / "client.db"
    bad = pull(client, f"{url}/taxii2/", "--collection", ALL, "--user", "rosa", token="ts_no")
    assert bad.exit_code == 2
    assert bad.stderr == f"error: {url}/taxii2/: HTTP 401: bad credentials\n"
    missing = pull(client, f"{url}/taxii2/", "--collection", "nope", token=tokens["rosa"])
    assert missing.exit_code == 2
    assert missing.stderr == (
        f"error: {url}/taxii2/api/collections/nope/: HTTP 404: no collection nope\n"
    )
    port = free_port()  # nothing listens there
    gone = pull(client, f"http://127.0.0.1:{port}/taxii2/", "--collection", ALL, token="x")
    assert gone.exit_code == 2
    assert gone.stderr.startswith(
        f"error: http://127.0.0.1:{port}/taxii2/: cannot reach the server: [Errno 111]"
    )
    assert not client.exists()


# -- medallion ----------------------------------------------------------------------------------


def medallion_config(folder: Path, objects: list[dict[str, Any]]) -> Path:
    added = "2025-12-01T00:00:00.000000Z"
    data = {
        "/discovery": {
            "title": "test",
            "default": "http://127.0.0.1/api/",
            "api_roots": ["http://127.0.0.1/api/"],
        },
        "api": {
            "information": {"title": "test", "versions": [TAXII], "max_content_length": 10**9},
            "status": [],
            "collections": [
                {
                    "id": ALL,
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
    (folder / "data.json").write_text(json.dumps(data))
    config = folder / "medallion.json"
    config.write_text(
        json.dumps(
            {
                "backend": {
                    "module": "medallion.backends.memory_backend",
                    "module_class": "MemoryBackend",
                    "filename": str(folder / "data.json"),
                },
                "users": {"tester": "secret"},
                "taxii": {"max_page_size": 100},
            }
        )
    )
    return config


@contextmanager
def medallion(config: Path) -> Iterator[str]:
    binary = Path(sys.executable).with_name("medallion")
    if not binary.exists():
        pytest.skip("medallion is not installed (pip install -e '.[dev]')")
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "--host", "127.0.0.1", "--port", str(port), str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/taxii2/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("medallion did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_medallion_collection_arrives_whole(tmp_path: Path) -> None:
    objects = identities(0, 350)
    with medallion(medallion_config(tmp_path, objects)) as url:
        client = tmp_path / "client.db"
        # The API root itself (medallion's discovery names it without the port it listens on).
        root = pulled(client, f"{url}/api/", "--collection", ALL, "--user", "tester",
                      token="secret")
        assert (root["fetched"], root["added"]) == (350, 350)
        assert root["pages"] == 4  # medallion sends at most 100 a page
        assert root["resume_point"] is not None
        assert set(stored(str(client))) == {obj["id"] for obj in objects}
        again = pulled(client, f"{url}/api/", "--collection", ALL, "--user", "tester",
                       token="secret")
        assert again["fetched"] == 0
        assert again["resumed_from"] == root["resume_point"]


def test_a_bad_object_fails_the_pull_naming_it(tmp_path: Path) -> None:
    objects = identities(0, 150)
    bad = objects[120]
    bad["created"] = "yesterday"
    with medallion(medallion_config(tmp_path, objects)) as url:
        client = tmp_path / "client.db"
        result = pull(client, f"{url}/api/", "--collection", ALL, "--user", "tester",
                      token="secret")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: {url}/api/collections/{ALL}/: object 120 ({bad['id']}): "
    )
    assert "created" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not client.exists()
