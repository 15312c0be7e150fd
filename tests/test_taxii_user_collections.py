"""User-defined TAXII collections, on each backend: an admin adds one with `threatscope
collections add` (a type list, a TLP ceiling, an importer, or an explicit id set); the server
offers it beside the built-in ones to `taxii2-client`, holding exactly the objects its filter and
the reader's clearance admit; an analyst posting to it stores what the filter admits and nothing
of an envelope holding one object it refuses; `collections remove` takes it away."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.exceptions import HTTPError
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages
from typer.testing import CliRunner

from conftest import new_location
from http_server import serving
from threatscope import KnowledgeBase
from threatscope.cli import app
from threatscope.ingest import write_objects
from threatscope.server import create_app
from threatscope.stix.tlp import object_tlp_rank, tlp_definitions
from threatscope.store.taxii_queries import CollectionFilter, TaxiiFilter, TaxiiScope
from threatscope.user_collections import admits

FIXTURE = Path(__file__).parent / "fixtures" / "tlp_levels.json"
OBJECTS: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["objects"]
RANK = {obj["id"]: object_tlp_rank(obj, "stix", tlp_definitions(OBJECTS)) for obj in OBJECTS}
INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--0a4f7d3e-5b1c-4a8e-9f2d-6c3b1e0a9d81",
    "created": "2025-02-01T00:00:00.000Z",
    "modified": "2025-02-01T00:00:00.000Z",
    "pattern": "[ipv4-addr:value = '198.51.100.7']",
    "pattern_type": "stix",
    "valid_from": "2025-02-01T00:00:00Z",
}
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


def identity(n: int, marking: str) -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--3c9e5a10-0000-4000-8000-{n:012d}",
        "created": "2025-02-01T00:00:00.000Z",
        "modified": "2025-02-01T00:00:00.000Z",
        "name": f"Posted {n}",
        "object_marking_refs": [marking],
    }


def cli(location: str, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--db", location, *args])
    return result


def ok_json(location: str, *args: str) -> Any:
    result = cli(location, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def served(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(URL, knowledge base, token by user): the TLP fixture and an indicator, four users."""
    location = new_location(request, backend, tmp_path)
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"type": "bundle", "objects": [*OBJECTS, INDICATOR]}))
    tokens = {}
    with KnowledgeBase(location) as kb:
        kb.import_file("stix", bundle)
        for name, role, clearance in (
            ("clara", "reader", "clear"),
            ("rosa", "reader", "red"),
            ("anna", "analyst", "red"),
        ):
            kb.add_user(name, role, clearance)
            tokens[name] = kb.create_token(name).token
    with serving(create_app(location)) as url:
        yield url, location, tokens


def root_of(url: str, user: str, token: str) -> ApiRoot:
    root = Server(f"{url}/taxii2/", user=user, password=token).default
    assert root is not None
    return root


def titled(root: ApiRoot, title: str) -> Collection:
    found = [c for c in root.collections if c.title == title]
    assert len(found) == 1, [c.title for c in root.collections]
    return found[0]


def ids_in(collection: Collection) -> set[str]:
    return {
        obj["id"]
        for envelope in as_pages(collection.get_objects, per_request=3)
        for obj in envelope.get("objects", [])
    }


def test_a_collection_holds_what_its_filter_and_the_clearance_admit(
    served: tuple[str, str, dict[str, str]],
) -> None:
    url, location, tokens = served
    made = ok_json(location, "collections", "add", "Shareable identities", "--type", "identity",
                   "--tlp", "amber", "--description", "Identities up to TLP:AMBER")
    assert {k: made[k] for k in ("title", "types", "tlp", "sources", "ids")} == {
        "title": "Shareable identities", "types": ["identity"], "tlp": "amber",
        "sources": [], "ids": [],
    }
    listed = ok_json(location, "collections", "list")
    assert [c["id"] for c in listed] == [made["id"]]

    amber = {i for i, rank in RANK.items() if rank <= 2}
    assert len(amber) == 10  # two unmarked (AMBER by default), one CLEAR and AMBER
    rosa = titled(root_of(url, "rosa", tokens["rosa"]), "Shareable identities")
    assert rosa.id == made["id"] and rosa.description == "Identities up to TLP:AMBER"
    assert not rosa.can_write  # a reader
    assert ids_in(rosa) == amber  # no indicator, nothing above AMBER
    clara = titled(root_of(url, "clara", tokens["clara"]), "Shareable identities")
    assert ids_in(clara) == {i for i, rank in RANK.items() if rank == 0}  # her clearance

    by_id = ok_json(location, "collections", "add", "Two objects", "--id", INDICATOR["id"],
                    "--id", OBJECTS[0]["id"])
    by_source = ok_json(location, "collections", "add", "From bundles", "--source", "stix")
    root = root_of(url, "rosa", tokens["rosa"])
    assert ids_in(titled(root, "Two objects")) == {INDICATOR["id"], OBJECTS[0]["id"]}
    assert ids_in(titled(root, "From bundles")) == {*RANK, INDICATOR["id"]}
    assert [c["title"] for c in ok_json(location, "collections", "list")] == [
        "Shareable identities", "Two objects", "From bundles"
    ]
    assert by_id["ids"] == sorted([INDICATOR["id"], OBJECTS[0]["id"]])
    assert by_source["sources"] == ["stix"]

    removed = cli(location, "collections", "remove", made["id"])
    assert removed.exit_code == 0, removed.output
    assert removed.stdout == f"removed collection {made['id']}: Shareable identities\n"
    with pytest.raises(HTTPError) as gone:
        Collection(f"{url}/taxii2/api/collections/{made['id']}/", user="rosa",
                   password=tokens["rosa"]).refresh()
    assert gone.value.response.status_code == 404
    with KnowledgeBase(location, read_only=True) as kb:
        actions = [(e.action, e.target) for e in kb.audit_log(limit=2)]
    assert actions[0] == ("collection.remove", made["id"])


def test_posting_to_a_collection_stores_only_what_its_filter_admits(
    served: tuple[str, str, dict[str, str]],
) -> None:
    url, location, tokens = served
    made = ok_json(location, "collections", "add", "Green identities", "--type", "identity",
                   "--tlp", "green")
    anna = titled(root_of(url, "anna", tokens["anna"]), "Green identities")
    assert anna.can_write
    status = anna.add_objects({"objects": [identity(1, GREEN), identity(2, GREEN)]})
    assert (status.status, status.success_count) == ("complete", 2)
    assert {identity(1, GREEN)["id"], identity(2, GREEN)["id"]} <= ids_in(anna)

    for refused, reason in (
        ([identity(3, GREEN), identity(4, RED)], "marked above the collection's ceiling TLP:GREEN"),
        ([identity(5, GREEN), {**INDICATOR, "id": INDICATOR["id"][:-1] + "2"}],
         "the collection takes identity objects only"),
    ):
        with pytest.raises(HTTPError) as error:
            anna.add_objects({"objects": refused})
        assert error.value.response.status_code == 422
        assert error.value.response.json()["title"] == (
            f"object 1 ({refused[1]['id']}): {reason}; nothing was stored"
        )
    with KnowledgeBase(location, read_only=True) as kb:
        for n in (3, 4, 5):
            assert kb.store.get_object(identity(n, GREEN)["id"]) is None

    rosa = Collection(f"{url}/taxii2/api/collections/{made['id']}/", user="rosa",
                      password=tokens["rosa"])
    with pytest.raises(HTTPError) as reader:
        rosa._conn.post(  # a reader: refused before anything is read
            rosa.objects_url,
            headers={"Content-Type": "application/taxii+json;version=2.1",
                     "Accept": "application/taxii+json;version=2.1"},
            json={"objects": [identity(6, GREEN)]},
        )
    assert reader.value.response.status_code == 403


def test_bad_collection_definitions_exit_2(served: tuple[str, str, dict[str, str]]) -> None:
    _, location, _ = served
    for args, message in (
        (["", "--type", "identity"], "a collection title takes 1 to 200 characters"),
        (["T", "--type", "Not A Type"],
         "type 'Not A Type': not a STIX type (such as intrusion-set)"),
        (["T", "--id", "identity--nope"],
         "id 'identity--nope': not a STIX identifier (type--uuid)"),
        (["T", "--tlp", "purple"],
         "--tlp 'purple' is not a TLP 2.0 level; use one of: clear, green, amber, amber+strict,"
         " red"),
    ):
        result = cli(location, "collections", "add", *args)
        assert result.exit_code == 2, result.output
        assert result.stderr == f"error: {message}\n"
    ok_json(location, "collections", "add", "Twice")
    twice = cli(location, "collections", "add", "Twice")
    assert (twice.exit_code, twice.stderr) == (
        2, "error: a collection titled 'Twice' already exists\n"
    )
    unknown = cli(location, "collections", "remove", "nope")
    assert (unknown.exit_code, unknown.stderr) == (
        1, "error: no user-defined collection 'nope'\n"
    )
    assert [c["title"] for c in ok_json(location, "collections", "list")] == ["Twice"]


# -- the filter in Python (posting) and in SQL (serving) agree -----------------------------------

_SOURCES = ("stix", "attack", "kev")
_TYPES = ("identity", "indicator", "malware")


@pytest.fixture(scope="module")
def filed(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, dict[str, tuple[dict[str, Any], str]]]]:
    """A knowledge base of the TLP fixture and an indicator (importer `stix`) and a malware
    (importer `kev`, public: unmarked is CLEAR), and each object with its importer."""
    folder = tmp_path_factory.mktemp("filed")
    location = new_location(request, backend, folder)
    malware = {
        "type": "malware", "spec_version": "2.1", "is_family": True, "name": "Sample",
        "id": "malware--1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "created": "2025-02-01T00:00:00.000Z", "modified": "2025-02-01T00:00:00.000Z",
    }
    with KnowledgeBase(location) as kb:
        bundle = folder / "bundle.json"
        bundle.write_text(json.dumps({"type": "bundle", "objects": [*OBJECTS, INDICATOR]}))
        kb.import_file("stix", bundle)
        write_objects(kb.store, "kev", folder / "kev.json", [malware])
        importers = {obj["id"]: (obj, "stix") for obj in [*OBJECTS, INDICATOR]}
        importers[malware["id"]] = (malware, "kev")
        yield kb.store, importers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sources=st.lists(st.sampled_from(_SOURCES), max_size=2, unique=True),
    types=st.lists(st.sampled_from(_TYPES), max_size=2, unique=True),
    ceiling=st.none() | st.integers(0, 4),
    some_ids=st.lists(st.integers(0, 17), max_size=4, unique=True),
    clearance=st.integers(0, 4),
)
def test_the_posted_filter_admits_what_the_served_one_holds(
    filed: tuple[Any, dict[str, tuple[dict[str, Any], str]]],
    sources: list[str],
    types: list[str],
    ceiling: int | None,
    some_ids: list[int],
    clearance: int,
) -> None:
    store, importers = filed
    every = sorted(importers)
    spec = CollectionFilter(
        tuple(sources), tuple(types), ceiling, tuple(every[i] for i in some_ids if i < len(every))
    )
    served = {
        row.id
        for row in store.taxii_page(TaxiiScope("user", clearance, spec), TaxiiFilter(), None, 100)
    }
    definitions = tlp_definitions(OBJECTS)
    admitted = {
        object_id
        for object_id, (obj, importer) in importers.items()
        if admits(spec, obj, importer, definitions) is None
        and object_tlp_rank(obj, importer, definitions) <= clearance
    }
    assert served == admitted


def test_no_collections_is_said_not_drawn_as_an_empty_table(tmp_path: Path) -> None:
    location = str(tmp_path / "kb.db")
    with KnowledgeBase(location) as kb:
        kb.record_audit("x", "touch")
    result = cli(location, "collections", "list")
    assert result.exit_code == 0
    assert result.stdout == (
        "no user-defined collections yet: `threatscope collections add TITLE` makes one\n"
    )
    assert ok_json(location, "collections", "list") == []
