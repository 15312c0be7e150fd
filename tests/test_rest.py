"""The REST API (/api/v1, server/rest_*.py) on both backends, against the CLI on the same real
knowledge base (tests/rest_fixture.py: an ATT&CK + MISP slice and the CFR table): every answer
is byte for byte what `threatscope … --json` prints; bad input is 400 with the CLI's line and
writes nothing; roles (reader POST 403, anonymous 401), TLP clearance, and an audit row for
every write."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

import rest_fixture
from conftest import new_location
from threatscope import KnowledgeBase
from threatscope.cli import app as cli_app
from threatscope.server import create_app
from threatscope.server.auth import TokenAuthenticator

USERS = (
    ("rita", "reader", "clear"),
    ("rhea", "reader", "amber"),
    ("anna", "analyst", "amber"),
)
REPORT = (
    "APT28 used X-Agent and exploited CVE-2023-23397 against a ministry in Germany. "
    "Command and control ran at 198.51.100.23 and update-check.example.net. T1566.001.\n"
)


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The knowledge base, a token per user, and a client of the app serving it."""
    folder = tmp_path_factory.mktemp("rest")
    location = new_location(request, backend, folder)
    rest_fixture.build(location, folder)
    tokens: dict[str, str] = {}
    with KnowledgeBase(location) as kb:
        for name, role, clearance in USERS:
            kb.add_user(name, role, clearance)
            tokens[name] = kb.create_token(name).token
    server = create_app(location, authenticator=TokenAuthenticator(location), anonymous_read=True)
    with TestClient(server, raise_server_exceptions=False) as client:
        yield {"location": location, "tokens": tokens, "client": client}


def as_user(served: dict[str, Any], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {served['tokens'][name]}"}


def cli(location: str, *args: str) -> Result:
    return CliRunner().invoke(cli_app, ["--db", location, *args])


def cli_bytes(location: str, *args: str) -> bytes:
    result = cli(location, *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout.encode()


def cli_error(location: str, *args: str) -> str:
    result = cli(location, *args)
    assert result.exit_code == 2, result.stdout
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: ")
    return line.removeprefix("error: ")


def one_line_error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert "\n" not in response.text
    body = response.json()
    assert body["http_status"] == str(status)
    return str(body["title"])


def sql(location: str, query: str) -> list[tuple[Any, ...]]:
    if location.startswith("postgresql://"):
        with psycopg.connect(location) as conn:
            return [tuple(row) for row in conn.execute(query).fetchall()]
    with sqlite3.connect(location) as conn:
        return conn.execute(query).fetchall()


def audit_actions(location: str) -> list[str]:
    with KnowledgeBase(location, read_only=True) as kb:
        return [event.action for event in kb.audit_log()]


def written(location: str) -> tuple[Any, ...]:
    """What a failed write must leave as it was: imports, objects, audit rows."""
    return (
        sql(location, "SELECT count(*) FROM imports")[0][0],
        sql(location, "SELECT count(*) FROM objects")[0][0],
        len(audit_actions(location)),
    )


# -- landscape and report ------------------------------------------------------------------------

LANDSCAPE_QUERIES = [
    ({}, []),
    (
        {"count": "fractional", "victim_region": "europe", "months": "24"},
        ["--count", "fractional", "--victim-region", "europe", "--months", "24"],
    ),
    (
        {"actor_category": ["state", "state-affiliated"], "source": "cfr", "ending": "2020-12-31"},
        [
            "--actor-category",
            "state",
            "--actor-category",
            "state-affiliated",
            "--source",
            "cfr",
            "--ending",
            "2020-12-31",
        ],
    ),
    (
        {"window": "2019-01-01..2020-06-30", "sector": "government", "min_n": "3"},
        ["--window", "2019-01-01..2020-06-30", "--sector", "government", "--min-n", "3"],
    ),
    (
        {"victim_country": "Ukraine", "infer_nexus": "true"},
        ["--victim-country", "Ukraine", "--infer-nexus"],
    ),
]


@pytest.mark.parametrize(("query", "flags"), LANDSCAPE_QUERIES)
def test_landscape_is_the_clis_json_byte_for_byte(
    served: dict[str, Any], query: dict[str, Any], flags: list[str]
) -> None:
    answer = served["client"].get(
        "/api/v1/landscape", params=query, headers=as_user(served, "rhea")
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == cli_bytes(served["location"], "landscape", *flags, "--json")
    assert json.loads(answer.content)["window"]["end"]


@pytest.mark.parametrize(
    ("query", "flags", "expected"),
    [
        (
            {"victim_region": "Atlantis"},
            ["--victim-region", "Atlantis"],
            "unknown region 'Atlantis'",
        ),
        (
            {"actor_category": "bogus"},
            ["--actor-category", "bogus"],
            "unknown actor category bogus",
        ),
        ({"count": "some"}, ["--count", "some"], "count"),
        ({"months": "0"}, ["--months", "0"], "months"),
        ({"window": "2020"}, ["--window", "2020"], "window"),
        ({"ending": "yesterday"}, ["--ending", "yesterday"], "ending"),
    ],
)
def test_a_bad_filter_is_400_with_the_clis_line_in_query_names(
    served: dict[str, Any], query: dict[str, str], flags: list[str], expected: str
) -> None:
    answer = served["client"].get(
        "/api/v1/landscape", params=query, headers=as_user(served, "rhea")
    )
    title = one_line_error(answer, 400)
    line = cli_error(served["location"], "landscape", *flags, "--json")
    assert expected in title
    # The CLI's line, each --flag named as the query parameter that carries it.
    assert title == line.replace("--victim-region", "victim_region").replace(
        "--actor-category", "actor_category"
    ).replace("--min-n", "min_n").replace("--", "")
    assert "--" not in title


def test_a_parameter_of_the_wrong_type_is_422_in_one_line(served: dict[str, Any]) -> None:
    answer = served["client"].get(
        "/api/v1/landscape", params={"months": "x"}, headers=as_user(served, "rhea")
    )
    assert one_line_error(answer, 422).startswith("query.months: ")


def test_report_html_and_pdf(served: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    client, headers = served["client"], as_user(served, "rhea")
    html = client.get("/api/v1/report", params={"tlp": "amber"}, headers=headers)
    assert html.status_code == 200, html.text
    assert html.headers["content-type"].startswith("text/html")
    assert b"TLP:AMBER" in html.content and html.content.lstrip().startswith(b"<!")
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        pdf = client.get("/api/v1/report", params={"format": "pdf"}, headers=headers)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
    monkeypatch.setenv("THREATSCOPE_CHROMIUM", "no-such-chromium")
    missing = client.get("/api/v1/report", params={"format": "pdf"}, headers=headers)
    assert one_line_error(missing, 503) == (
        "THREATSCOPE_CHROMIUM=no-such-chromium is not an executable Chromium or Chrome"
    )
    bad = client.get("/api/v1/report", params={"tlp": "purple"}, headers=headers)
    assert one_line_error(bad, 400) == cli_error(
        served["location"], "report", "--tlp", "purple", "-o", "/nonexistent/r.html"
    ).replace("--tlp", "tlp")


# -- actors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "flags"),
    [
        ({}, []),
        ({"nexus": "Russia"}, ["--nexus", "Russia"]),
        ({"nexus": "unknown"}, ["--nexus", "unknown"]),
    ],
)
def test_actor_list_is_the_clis_json(
    served: dict[str, Any], query: dict[str, str], flags: list[str]
) -> None:
    answer = served["client"].get("/api/v1/actors", params=query, headers=as_user(served, "rhea"))
    assert answer.content == cli_bytes(served["location"], "actor", "list", *flags, "--json")


def test_actor_search_and_limit(served: dict[str, Any]) -> None:
    client, headers = served["client"], as_user(served, "rhea")
    everyone = json.loads(cli_bytes(served["location"], "actor", "list", "--json"))
    assert len(everyone) == 6
    bears = client.get("/api/v1/actors", params={"q": "BEAR"}, headers=headers).json()
    # Fancy Bear (APT28), Cozy Bear (APT29), Venomous Bear (Turla), Voodoo Bear (Sandworm).
    assert sorted(a["name"] for a in bears) == ["APT28", "APT29", "Sandworm Team", "Turla"]
    by_id = client.get("/api/v1/actors", params={"q": "g0032"}, headers=headers).json()
    assert [a["name"] for a in by_id] == ["Lazarus Group"]
    two = client.get("/api/v1/actors", params={"limit": 2}, headers=headers).json()
    assert two == everyone[:2]
    assert one_line_error(
        client.get("/api/v1/actors", params={"limit": 0}, headers=headers), 422
    ).startswith("query.limit: ")
    nexus = client.get("/api/v1/actors", params={"nexus": "Atlantis"}, headers=headers)
    assert one_line_error(nexus, 400) == cli_error(
        served["location"], "actor", "list", "--nexus", "Atlantis"
    ).replace("--nexus", "nexus")


@pytest.mark.parametrize("name", ["APT28", "Lazarus Group", "G0016", "volt typhoon"])
def test_actor_show_is_the_clis_json(served: dict[str, Any], name: str) -> None:
    answer = served["client"].get(f"/api/v1/actors/{name}", headers=as_user(served, "rhea"))
    assert answer.content == cli_bytes(served["location"], "actor", "show", name, "--json")


def test_an_unknown_actor_is_404_with_the_clis_line(served: dict[str, Any]) -> None:
    answer = served["client"].get("/api/v1/actors/Nobody Bear", headers=as_user(served, "rhea"))
    result = cli(served["location"], "actor", "show", "Nobody Bear")
    assert result.exit_code == 1
    assert one_line_error(answer, 404) == result.stderr.strip().removeprefix("error: ")


def test_split_and_join_as_the_cli_does_them_audited(served: dict[str, Any]) -> None:
    client, location = served["client"], served["location"]
    before = json.loads(cli_bytes(location, "actor", "show", "APT28", "--json"))
    assert sorted(m["source"] for m in before["members"]) == ["attack", "misp-galaxy"]
    refused = client.post(
        "/api/v1/actors/APT28/split",
        json={"member": "misp-galaxy"},
        headers=as_user(served, "rhea"),
    )
    assert one_line_error(refused, 403) == "rhea is a reader; this needs analyst"
    anonymous = client.post("/api/v1/actors/APT28/split", json={"member": "misp-galaxy"})
    assert one_line_error(anonymous, 401) == "analyst access requires authentication"
    unknown = client.post(
        "/api/v1/actors/APT28/split", json={"member": "nobody"}, headers=as_user(served, "anna")
    )
    assert one_line_error(unknown, 404).startswith("'nobody' is not a member of 'APT28'; members: ")

    split = client.post(
        "/api/v1/actors/APT28/split",
        json={"member": "misp-galaxy"},
        headers=as_user(served, "anna"),
    )
    assert split.status_code == 200, split.text
    moved = next(m for m in before["members"] if m["source"] == "misp-galaxy")
    assert split.json() == {"split": moved["id"], "from": "APT28"}
    after = json.loads(cli_bytes(location, "actor", "show", "APT28", "--json"))
    assert [m["source"] for m in after["members"]] == ["attack"]
    assert audit_actions(location)[0] == "actor.split"

    joined = client.post(f"/api/v1/actors/{moved['id']}/join", headers=as_user(served, "anna"))
    assert joined.json() == {"joined": moved["id"]}
    assert audit_actions(location)[0] == "actor.join"
    again = json.loads(cli_bytes(location, "actor", "show", "APT28", "--json"))
    assert sorted(m["source"] for m in again["members"]) == ["attack", "misp-galaxy"]
    twice = client.post(f"/api/v1/actors/{moved['id']}/join", headers=as_user(served, "anna"))
    assert one_line_error(twice, 404) == f"no split recorded for {moved['id']}"


# -- attribute, extract ------------------------------------------------------------------------


def test_attribute_is_the_clis_json(served: dict[str, Any]) -> None:
    evidence = {
        "techniques": ["T1566.001", "T1071.001"],
        "software": ["X-Agent"],
        "cves": ["CVE-2023-23397"],
    }
    answer = served["client"].post(
        "/api/v1/attribute", json=evidence, headers=as_user(served, "rhea")
    )
    flags = [
        "--technique",
        "T1566.001",
        "--technique",
        "T1071.001",
        "--software",
        "X-Agent",
        "--cve",
        "CVE-2023-23397",
        "--json",
    ]
    assert answer.content == cli_bytes(served["location"], "attribute", *flags)
    assert answer.json()["candidates"][0]["name"] == "APT28"
    assert "POST /api/v1/attribute" not in audit_actions(served["location"])  # wrote nothing


def test_attribute_without_evidence_is_400(served: dict[str, Any]) -> None:
    answer = served["client"].post("/api/v1/attribute", json={}, headers=as_user(served, "rhea"))
    assert one_line_error(answer, 400) == (
        "give some evidence: techniques, software, cves, iocs, sectors, victim_countries, "
        "first_seen, text"
    )


def test_extract_is_the_clis_json_and_a_text_body_works_too(
    served: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "report.txt").write_text(REPORT)
    monkeypatch.chdir(tmp_path)
    expected = cli_bytes(served["location"], "extract", "report.txt", "--json")
    client, headers = served["client"], as_user(served, "rhea")
    upload = client.post(
        "/api/v1/extract", files={"file": ("report.txt", REPORT.encode())}, headers=headers
    )
    assert upload.content == expected
    plain = client.post(
        "/api/v1/extract",
        content=REPORT.encode(),
        headers={**headers, "content-type": "text/plain"},
    )
    assert plain.content == expected
    found = upload.json()
    assert found["cves"] == ["CVE-2023-23397"]
    assert [a["name"] for a in found["actors"]] == ["APT28"]


def test_a_reviewed_extraction_is_stored_as_extract_store_stores_it(
    served: dict[str, Any], tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    client, location = served["client"], served["location"]
    extraction = client.post(
        "/api/v1/extract",
        files={"file": ("review.txt", REPORT.encode())},
        headers=as_user(served, "anna"),
    ).json()
    bad = {**extraction, "iocs": [{**extraction["iocs"][0], "type": "nonsense"}]}
    refused = client.post("/api/v1/extract/store", json=extraction, headers=as_user(served, "rhea"))
    assert one_line_error(refused, 403) == "rhea is a reader; this needs analyst"
    assert one_line_error(client.post("/api/v1/extract/store", json=extraction), 401)
    before = written(location)
    answer = client.post("/api/v1/extract/store", json=bad, headers=as_user(served, "anna"))
    assert one_line_error(answer, 400) == (
        "<reviewed extraction>: iocs[0]: unknown IOC type 'nonsense'"
    )
    assert written(location) == before

    created = "2026-01-02T03:04:05Z"
    stored = client.post(
        "/api/v1/extract/store",
        params={"created": created},
        json=extraction,
        headers=as_user(served, "anna"),
    )
    assert stored.status_code == 200, stored.text
    assert stored.json() == {**extraction, "stored": stored.json()["stored"]}
    assert audit_actions(location)[0] == "extract.store"

    # `extract --store` of the same file (same content, same time) on another knowledge base
    # stores the same objects, and a report referencing the same ones: one writer, not two.
    other = new_location(request, backend, tmp_path)
    rest_fixture.build(other, tmp_path)
    path = tmp_path / "review.txt"
    path.write_text(REPORT)
    moment = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
    os.utime(path, (moment, moment))
    with KnowledgeBase(other) as kb:
        direct = kb.extract(path, store=True).as_dict()["stored"]
    assert stored.json()["stored"]["received"] == direct["received"]

    def report_refs(where: str) -> list[str]:
        rows = sql(where, "SELECT json FROM objects WHERE type = 'report'")
        # SQLite gives the JSON text; PostgreSQL's jsonb arrives parsed.
        documents = [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in rows]
        reports = [doc for doc in documents if doc["name"] == "review.txt"]
        assert len(reports) == 1
        return sorted(reports[0]["object_refs"])

    assert report_refs(location) == report_refs(other)


# -- import and stats ---------------------------------------------------------------------------


def _bundle(*names: str, bad_created: bool = False) -> bytes:
    objects = [
        {
            "type": "intrusion-set",
            "spec_version": "2.1",
            "id": f"intrusion-set--7e4d2c1a-0000-4000-8000-00000000000{n}",
            "created": "2025-01-01T00:00:00.000Z",
            "modified": "2025-01-01T00:00:00.000Z",
            "name": name,
        }
        for n, name in enumerate(names, start=1)
    ]
    if bad_created:
        objects[-1]["created"] = "yesterday"
    return json.dumps(
        {"type": "bundle", "id": "bundle--7e4d2c1a-0000-4000-8000-0000000000ff", "objects": objects}
    ).encode()


def test_bad_input_is_400_with_the_clis_line_and_nothing_is_written(
    served: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, location = served["client"], served["location"]
    bad = _bundle("Probe Bear", "Bad Bear", bad_created=True)
    (tmp_path / "bad.json").write_bytes(bad)
    monkeypatch.chdir(tmp_path)
    line = cli_error(location, "import", "stix", "bad.json")
    assert line == (
        "bad.json: object 1 (intrusion-set--7e4d2c1a-0000-4000-8000-000000000002): invalid or "
        "missing 'created': 'yesterday'"
    )
    before = written(location)
    answer = client.post(
        "/api/v1/import/stix", files={"file": ("bad.json", bad)}, headers=as_user(served, "anna")
    )
    assert one_line_error(answer, 400) == line
    unknown = client.post(
        "/api/v1/import/nosuch", files={"file": ("bad.json", bad)}, headers=as_user(served, "anna")
    )
    assert one_line_error(unknown, 400) == cli_error(location, "import", "nosuch", "bad.json")
    no_mapping = client.post(
        "/api/v1/import/table", files={"file": ("t.csv", b"a,b\n")}, headers=as_user(served, "anna")
    )
    assert one_line_error(no_mapping, 400) == (
        "source 'table' needs mapping MAP.toml (see the README)"
    )
    assert written(location) == before


def test_import_is_the_clis_import_audited(served: dict[str, Any]) -> None:
    client, location = served["client"], served["location"]
    good = _bundle("Probe Bear", "Probe Panda")
    reader = client.post(
        "/api/v1/import/stix", files={"file": ("good.json", good)}, headers=as_user(served, "rhea")
    )
    assert one_line_error(reader, 403) == "rhea is a reader; this needs analyst"
    anonymous = client.post("/api/v1/import/stix", files={"file": ("good.json", good)})
    assert one_line_error(anonymous, 401) == "analyst access requires authentication"
    imports = sql(location, "SELECT count(*) FROM imports")[0][0]
    answer = client.post(
        "/api/v1/import/stix", files={"file": ("good.json", good)}, headers=as_user(served, "anna")
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["source"], result["path"], result["received"], result["added"]) == (
        "stix",
        "good.json",
        2,
        2,
    )
    assert sql(location, "SELECT count(*) FROM imports")[0][0] == imports + 1
    with KnowledgeBase(location, read_only=True) as kb:
        event = kb.audit_log(1)[0]
    assert (event.user, event.action, event.target) == ("anna", "import.stix", "good.json")
    assert event.detail == {"received": 2, "added": 2, "updated": 0, "unchanged": 0}
    again = client.post(
        "/api/v1/import/stix", files={"file": ("good.json", good)}, headers=as_user(served, "anna")
    )
    assert again.json()["unchanged"] == 2


def test_stats_is_the_clis_json(served: dict[str, Any]) -> None:
    answer = served["client"].get("/api/v1/stats", headers=as_user(served, "rhea"))
    assert answer.content == cli_bytes(served["location"], "stats", "--json")


# -- TLP clearance and anonymous readers --------------------------------------------------------

READS = [
    ("get", "/api/v1/landscape", None),
    ("get", "/api/v1/report", None),
    ("get", "/api/v1/actors", None),
    ("get", "/api/v1/actors/APT28", None),
    ("get", "/api/v1/stats", None),
    ("post", "/api/v1/attribute", {"techniques": ["T1566.001"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), READS)
def test_a_principal_below_the_bases_level_is_refused(
    served: dict[str, Any], method: str, path: str, body: Any
) -> None:
    """The CFR table is TLP:AMBER (a private importer's data): a TLP:CLEAR reader, and an
    anonymous one, get nothing computed from it."""
    client = served["client"]
    answer = client.request(method, path, json=body, headers=as_user(served, "rita"))
    assert one_line_error(answer, 403) == (
        "this answer is computed from the whole knowledge base, which holds TLP:AMBER objects; "
        "it needs clearance TLP:AMBER (yours: TLP:CLEAR)"
    )
    anonymous = client.request(method, path, json=body)
    assert "(yours: TLP:CLEAR)" in one_line_error(anonymous, 403)


def test_anonymous_reads_a_clear_base_and_never_writes(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    location = new_location(request, backend, tmp_path)
    with KnowledgeBase(location) as kb:
        kb.import_file("attack", rest_fixture.attack_slice(tmp_path))
    with TestClient(create_app(location, anonymous_read=True)) as client:
        assert client.get("/api/v1/stats").content == cli_bytes(location, "stats", "--json")
        assert client.get("/api/v1/actors/APT28").json()["name"] == "APT28"
        for path in ("/api/v1/import/stix", "/api/v1/extract/store", "/api/v1/actors/APT28/split"):
            assert one_line_error(client.post(path, json={}), 401).endswith(
                "access requires authentication"
            )
    with TestClient(create_app(location)) as closed:
        assert one_line_error(closed.get("/api/v1/stats"), 401) == "authentication required"


def test_basic_authentication_works_as_bearer(served: dict[str, Any]) -> None:
    token = served["tokens"]["rhea"]
    basic = base64.b64encode(f"rhea:{token}".encode()).decode()
    answer = served["client"].get("/api/v1/stats", headers={"Authorization": f"Basic {basic}"})
    assert answer.status_code == 200


def test_the_openapi_document_lists_every_route_with_its_statuses(served: dict[str, Any]) -> None:
    document = served["client"].get("/api/v1/openapi.json").json()
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert sorted(operations) == [
        ("GET", "/api/v1/actors"),
        ("GET", "/api/v1/actors/{name}"),
        ("GET", "/api/v1/landscape"),
        ("GET", "/api/v1/report"),
        ("GET", "/api/v1/stats"),
        ("POST", "/api/v1/actors/{name}/split"),
        ("POST", "/api/v1/actors/{object_id}/join"),
        ("POST", "/api/v1/attribute"),
        ("POST", "/api/v1/extract"),
        ("POST", "/api/v1/extract/store"),
        ("POST", "/api/v1/import/{source}"),
    ]
    for key, operation in operations.items():
        assert {"200", "401", "403"} <= set(operation["responses"]), key
    names = {p["name"] for p in operations[("GET", "/api/v1/landscape")]["parameters"]}
    assert names == {
        "sector",
        "victim_region",
        "victim_country",
        "actor_category",
        "count",
        "ending",
        "months",
        "window",
        "source",
        "infer_nexus",
        "min_n",
    }
