"""The TAXII 2.1 server end to end: the reference client (`taxii2-client`) against a real uvicorn
on loopback, on each backend. ATT&CK Enterprise is paged through whole and every filter is
checked against a count made from the raw STIX file; a fixture of objects marked at each TLP
level is read by a principal of each clearance, which sees exactly what it may: in pages,
manifests, versions, by id, in the collections listed and in `more`."""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from conftest import new_location, shared_file
from http_server import serving
from threatscope import KnowledgeBase
from threatscope.report.marking import LEVELS
from threatscope.server import create_app
from threatscope.server.principal import Principal, Unauthenticated
from threatscope.server.taxii_collections import collection_id
from threatscope.stix.validate import normalise_timestamp

FIXTURE = Path(__file__).parent / "fixtures" / "tlp_levels.json"
TAXII = "application/taxii+json;version=2.1"


class FixedTokens:
    """A test authenticator: the token (Bearer, or Basic's password) names a clearance, and the
    principal of that clearance is a reader called after it; "analyst" is an analyst cleared
    for TLP:RED."""

    def __call__(self, authorization: str | None) -> Principal | None:
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic":
            value = base64.b64decode(value).decode().partition(":")[2]
        if value == "analyst":
            return Principal("analyst", "analyst", LEVELS["red"])
        if value not in LEVELS:
            raise Unauthenticated("unknown token")
        return Principal(f"reader-{value}", "reader", LEVELS[value])


def api_root(url: str, token: str = "red") -> ApiRoot:
    server = Server(f"{url}/taxii2/", user="reader", password=token)
    root = server.default
    assert root is not None
    return root


def collection_of(root: ApiRoot, title: str) -> Collection:
    found = [c for c in root.collections if c.title == title]
    assert len(found) == 1, [c.title for c in root.collections]
    return found[0]


def paged_ids(collection: Collection, per_request: int = 5000, **filters: Any) -> list[str]:
    ids: list[str] = []
    for envelope in as_pages(collection.get_objects, per_request=per_request, **filters):
        ids.extend(obj["id"] for obj in envelope.get("objects", []))
    return ids


def manifest_ids(collection: Collection, per_request: int = 5000, **filters: Any) -> list[str]:
    ids: list[str] = []
    for envelope in as_pages(collection.get_manifest, per_request=per_request, **filters):
        ids.extend(item["id"] for item in envelope.get("objects", []))
    return ids


# -- ATT&CK Enterprise, whole ------------------------------------------------------------------


@pytest.fixture(scope="module")
def enterprise() -> list[dict[str, Any]]:
    path = shared_file("attack/enterprise-attack-18.1.json")
    objects: list[dict[str, Any]] = json.loads(path.read_text())["objects"]
    return objects


NEWER = [
    {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--5b6c1f0e-0000-4000-8000-00000000000{n}",
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
        "name": f"Added later {n}",
    }
    for n in range(3)
]


@pytest.fixture(scope="module")
def attack_server(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    enterprise: list[dict[str, Any]],
) -> Iterator[tuple[str, str]]:
    """(server URL, date_added of the ATT&CK objects): ATT&CK imported, then three objects."""
    folder = tmp_path_factory.mktemp("attack")
    location = new_location(request, backend, folder)
    later = folder / "later.json"
    later.write_text(json.dumps({"type": "bundle", "objects": NEWER}))
    with KnowledgeBase(location) as kb:
        kb.import_file("attack", shared_file("attack/enterprise-attack-18.1.json"))
        first = kb.imports().imports[0]["started"]
        kb.import_file("stix", later)
    with serving(create_app(location, authenticator=FixedTokens())) as url:
        yield url, str(first)


def test_discovery_lists_one_root_and_its_collections(attack_server: tuple[str, str]) -> None:
    url, _ = attack_server
    server = Server(f"{url}/taxii2/", user="reader", password="red")
    assert server.title == "ThreatScope"
    assert [root.url for root in server.api_roots] == [f"{url}/taxii2/api/"]
    root = api_root(url)
    assert root.versions == [TAXII]
    assert [(c.id, c.title) for c in root.collections] == [
        (collection_id("all"), "ThreatScope knowledge base"),
        (collection_id("source:attack"), "Source: attack"),
        (collection_id("source:stix"), "Source: stix"),
        *((collection_id(f"tlp:{key}"), f"TLP:{key.upper()}") for key in LEVELS),
    ]
    assert all(c.can_read and not c.can_write for c in root.collections)


def test_as_pages_reads_every_attack_object_once(
    attack_server: tuple[str, str], enterprise: list[dict[str, Any]]
) -> None:
    collection = collection_of(api_root(attack_server[0]), "Source: attack")
    sizes: list[int] = []
    ids: list[str] = []
    for envelope in as_pages(collection.get_objects, per_request=1000):
        sizes.append(len(envelope["objects"]))
        ids.extend(obj["id"] for obj in envelope["objects"])
    assert len(ids) == len(enterprise) == 24771
    assert set(ids) == {obj["id"] for obj in enterprise}
    assert sizes == [1000] * 24 + [771]
    assert manifest_ids(collection, per_request=1000) == ids


def _modified(obj: dict[str, Any]) -> datetime | None:
    stamp = obj.get("modified")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def test_every_filter_matches_a_count_from_the_raw_file(
    attack_server: tuple[str, str], enterprise: list[dict[str, Any]]
) -> None:
    collection = collection_of(api_root(attack_server[0]), "Source: attack")
    types = Counter(obj["type"] for obj in enterprise)
    # ATT&CK is a STIX 2.0 bundle: every object is served as the import upgraded it, in 2.1.
    assert Counter(obj.get("spec_version", "2.0") for obj in enterprise) == {"2.0": 24771}
    common, common_count = Counter(_modified(o) for o in enterprise).most_common(1)[0]
    assert common is not None and common_count > 1
    some = [obj["id"] for obj in enterprise[::5000]]
    cases: list[tuple[dict[str, Any], int]] = [
        ({"type": "attack-pattern"}, types["attack-pattern"]),
        ({"type": ["intrusion-set", "malware", "tool"]}, types["intrusion-set"] + types["malware"]
         + types["tool"]),
        ({"type": "no-such-type"}, 0),
        ({"id": [*some, "identity--00000000-0000-4000-8000-000000000000"]}, len(some)),
        ({"version": common.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}, common_count),
        ({"version": "last"}, len(enterprise)),
        ({"version": "first,all"}, len(enterprise)),
        ({"spec_version": "2.1"}, len(enterprise)),
        ({"spec_version": "2.0"}, 0),
        ({"type": "relationship", "spec_version": "2.0,2.1"}, types["relationship"]),
    ]
    for filters, expected in cases:
        assert len(paged_ids(collection, **filters)) == expected, filters
        assert len(manifest_ids(collection, **filters)) == expected, filters


def test_added_after_returns_what_later_imports_added(attack_server: tuple[str, str]) -> None:
    url, first = attack_server
    everything = collection_of(api_root(url), "ThreatScope knowledge base")
    assert paged_ids(everything, added_after=first) == [obj["id"] for obj in NEWER]
    assert len(paged_ids(everything)) == 24771 + len(NEWER)
    response = httpx.get(
        f"{url}/taxii2/api/collections/{everything.id}/objects/",
        params={"added_after": first, "limit": "2"},
        headers={"Accept": TAXII, "Authorization": "Bearer red"},
    )
    assert response.headers["content-type"] == TAXII
    assert response.headers["x-taxii-date-added-first"] > first
    assert response.headers["x-taxii-date-added-last"] >= response.headers[
        "x-taxii-date-added-first"
    ]
    assert response.json()["more"] is True and len(response.json()["objects"]) == 2


def test_an_object_by_id_and_its_versions(
    attack_server: tuple[str, str], enterprise: list[dict[str, Any]]
) -> None:
    collection = collection_of(api_root(attack_server[0]), "Source: attack")
    apt28 = next(o for o in enterprise if o.get("name") == "APT28")
    assert collection.get_object(apt28["id"])["objects"] == [{**apt28, "spec_version": "2.1"}]
    assert collection.object_versions(apt28["id"]) == {
        "more": False,
        "versions": [normalise_timestamp(apt28["modified"])],
    }
    newer = {"version": "2099-01-01T00:00:00.000Z"}
    assert collection.get_object(apt28["id"], **newer) == {"more": False}


def _get(url: str, path: str, **headers: str) -> httpx.Response:
    sent = {"Accept": TAXII, "Authorization": "Bearer red", **headers}
    return httpx.get(f"{url}/taxii2/api/{path}", headers=sent)


def test_refusals_are_taxii_error_messages(attack_server: tuple[str, str]) -> None:
    url, _ = attack_server
    objects = f"collections/{collection_id('all')}/objects/"
    cases = [
        (_get(url, objects, Accept="application/json"), 406, "answers " + TAXII),
        (_get(url, objects, Accept=f"{TAXII[:-3]}2.0"), 406, "answers " + TAXII),
        (_get(url, objects + "?limit=0"), 400, "limit: '0' is not a positive whole number"),
        (_get(url, objects + "?next=bm9wZQ"), 400, "next: 'bm9wZQ' is not a page token"),
        (_get(url, objects + "?match[colour]=red"), 400, "match[colour]: not a filter here"),
        (_get(url, objects + "?added_after=yesterday"), 400, "'yesterday' is not a STIX"),
        (_get(url, objects + "?match[spec_version]=2.2"), 400, "'2.2' is not 2.0 or 2.1"),
        (_get(url, "collections/nope/"), 404, "no collection nope"),
        (_get(url, objects + "identity--nope/"), 404, "no object identity--nope"),
        (_get(url, "", Authorization="Bearer wrong"), 401, "unknown token"),
        (_get(url, "", Authorization=""), 401, "authentication required"),
    ]
    for response, status, title in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.headers["content-type"] == TAXII
        body = response.json()
        assert body["http_status"] == str(status)
        assert title in body["title"], body
    assert _get(url, "", Accept="application/taxii+json").status_code == 200
    assert _get(url, "", Accept="*/*").status_code == 200
    assert "www-authenticate" in _get(url, "", Authorization="").headers


# -- clearance ---------------------------------------------------------------------------------


def _expected_levels() -> dict[str, str]:
    """Object id -> the level its fixture description states (written by hand, not computed)."""
    objects = json.loads(FIXTURE.read_text())["objects"]
    return {o["id"]: o["description"].removeprefix("expected level: ") for o in objects}


@pytest.fixture(scope="module")
def marked_server(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    location = new_location(request, backend, tmp_path_factory.mktemp("marked"))
    with KnowledgeBase(location) as kb:
        kb.import_file("stix", FIXTURE)
    app = create_app(location, authenticator=FixedTokens(), anonymous_read=True)
    with serving(app) as url:
        yield url


@pytest.mark.parametrize("clearance", list(LEVELS))
def test_each_clearance_sees_exactly_what_it_may(marked_server: str, clearance: str) -> None:
    levels = _expected_levels()
    rank = LEVELS[clearance].rank
    visible = sorted(i for i, level in levels.items() if LEVELS[level].rank <= rank)
    hidden = sorted(set(levels) - set(visible))
    assert visible and (hidden or clearance == "red")
    root = api_root(marked_server, clearance)
    titles = [c.title for c in root.collections]
    assert titles == [
        "ThreatScope knowledge base",
        "Source: stix",
        *(level.label for level in LEVELS.values() if level.rank <= rank),
    ]
    for title in ("ThreatScope knowledge base", "Source: stix"):
        collection = collection_of(root, title)
        # One object a page: `more` must stop at the last visible object, not at a hidden one.
        assert sorted(paged_ids(collection, per_request=1)) == visible
        assert sorted(manifest_ids(collection, per_request=1)) == visible
    for level in LEVELS.values():
        wanted = collection_id(f"tlp:{level.key}")
        response = _get(marked_server, f"collections/{wanted}/objects/", Authorization=
                        f"Bearer {clearance}")
        if level.rank > rank:
            assert response.status_code == 404
            continue
        got = sorted(obj["id"] for obj in response.json().get("objects", []))
        assert got == sorted(i for i, key in levels.items() if key == level.key), level.key
    everything = collection_id("all")
    for object_id in levels:
        by_id = _get(marked_server, f"collections/{everything}/objects/{object_id}/",
                     Authorization=f"Bearer {clearance}")
        versions = _get(marked_server, f"collections/{everything}/objects/{object_id}/versions/",
                        Authorization=f"Bearer {clearance}")
        if object_id in hidden:
            # As for an object that does not exist: nothing says it does.
            assert (by_id.status_code, versions.status_code) == (404, 404)
            assert by_id.json()["title"] == f"no object {object_id} in this collection"
        else:
            assert [o["id"] for o in by_id.json()["objects"]] == [object_id]
            assert len(versions.json()["versions"]) == 1


def test_anonymous_reads_see_tlp_clear_only(marked_server: str) -> None:
    levels = _expected_levels()
    clear = sorted(i for i, level in levels.items() if level == "clear")
    response = _get(marked_server, f"collections/{collection_id('all')}/manifest/",
                    Authorization="")
    assert sorted(item["id"] for item in response.json()["objects"]) == clear
    listed = _get(marked_server, "collections/", Authorization="").json()["collections"]
    assert [c["title"] for c in listed] == ["ThreatScope knowledge base", "Source: stix",
                                           "TLP:CLEAR"]


def test_concurrent_clients_all_get_their_pages(attack_server: tuple[str, str]) -> None:
    """Each worker thread reads through its own connection: 16 clients at once, no error."""
    url, _ = attack_server
    objects = f"{url}/taxii2/api/collections/{collection_id('source:attack')}/objects/"
    statuses: list[int] = []

    def client() -> None:
        with httpx.Client(headers={"Accept": TAXII, "Authorization": "Bearer red"}) as http:
            params = {"limit": "500"}
            for _ in range(8):
                response = http.get(objects, params=params, timeout=60)
                statuses.append(response.status_code)
                params = {"limit": "500", "next": response.json()["next"]}

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 128


# -- adding objects ----------------------------------------------------------------------------


def test_an_analyst_adds_objects_and_reads_their_status(kb_location: str) -> None:
    objects = json.loads(FIXTURE.read_text())["objects"]
    with KnowledgeBase(kb_location) as kb:
        kb.import_file("stix", FIXTURE)
    marking = objects[0]["object_marking_refs"]
    new = [{**NEWER[0]}, {**NEWER[1], "object_marking_refs": marking}]
    with serving(create_app(kb_location, authenticator=FixedTokens(), anonymous_read=True)) as url:
        root = api_root(url, "analyst")
        everything = collection_of(root, "ThreatScope knowledge base")
        assert everything.can_write
        assert not collection_of(root, "Source: stix").can_write
        assert not collection_of(api_root(url, "red"), "ThreatScope knowledge base").can_write
        status = everything.add_objects({"objects": new})
        assert (status.status, status.total_count, status.success_count) == ("complete", 2, 2)
        assert [s["id"] for s in status.successes] == [o["id"] for o in new]
        assert root.get_status(status.id).success_count == 2
        assert sorted(paged_ids(everything)) == sorted([*(o["id"] for o in objects),
                                                       *(o["id"] for o in new)])
        with KnowledgeBase(kb_location, read_only=True) as kb:
            assert kb.imports().imports[-1]["source"] == "stix"
            assert kb.imports().imports[-1]["added"] == 2

        def post(body: bytes, token: str = "analyst", target: str = everything.id,
                 content_type: str = TAXII) -> httpx.Response:
            return httpx.post(
                f"{url}/taxii2/api/collections/{target}/objects/",
                content=body,
                headers={"Accept": TAXII, "Content-Type": content_type,
                         "Authorization": f"Bearer {token}" if token else ""},
            )

        bad = {"objects": [{**NEWER[2]}, {"type": "identity", "id": "identity--x"}]}
        cases = [
            (post(json.dumps(bad).encode()), 400, "the envelope"),
            (post(b"{", ), 400, "the body is not JSON"),
            (post(b"[]"), 400, "expected an envelope"),
            (post(b"{}", content_type="application/json"), 415, "send " + TAXII),
            (post(b"{}", token="red"), 403, "reader-red is a reader; this needs analyst"),
            (post(b"{}", token=""), 401, "analyst access requires authentication"),
            (post(b"{}", target=collection_id("source:stix")), 403, "knowledge base collection"),
            (post(b"{}", target="nope"), 404, "no collection nope"),
        ]
        for response, code, title in cases:
            assert response.status_code == code, response.text
            assert response.headers["content-type"] == TAXII
            assert title in response.json()["title"], response.json()
        # All or nothing: the valid object beside the bad one was not stored.
        assert NEWER[2]["id"] not in paged_ids(everything)
        # A status is its poster's alone.
        other = _get(url, f"status/{status.id}/", Authorization="Bearer red")
        assert other.status_code == 404
