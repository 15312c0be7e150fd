"""`threatscope sync`: every feed from a mirror directory, or over real HTTP, in one transaction."""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from conftest import data_dir, shared_file
from threatscope.cli import app
from threatscope.sources.eurepoc import load_eurepoc
from threatscope.store import SQLiteStore

THREATSCOPE = Path(sys.executable).parent / "threatscope"


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Downloads go to a cache under tmp, never the user's; localhost is never proxied."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("THREATSCOPE_DB", raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return home


def sync_cache(home: Path) -> Path:
    return home / "cache" / "threatscope" / "sync"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_kev(path: Path, entries: list[dict[str, Any]]) -> bytes:
    body = json.dumps(
        {
            "title": "CISA Catalog of Known Exploited Vulnerabilities",
            "catalogVersion": "2024.05.02",
            "dateReleased": "2024-05-02T15:30:00.1234Z",
            "count": len(entries),
            "vulnerabilities": entries,
        }
    ).encode()
    path.write_bytes(body)
    return body


KEV_ENTRIES = [
    {
        "cveID": "CVE-2024-3400",
        "vendorProject": "Palo Alto Networks",
        "product": "PAN-OS",
        "vulnerabilityName": "PAN-OS Command Injection",
        "dateAdded": "2024-04-12",
        "shortDescription": "Command injection in GlobalProtect.",
        "requiredAction": "Apply mitigations.",
        "dueDate": "2024-04-19",
        "knownRansomwareCampaignUse": "Unknown",
        "notes": "",
        "cwes": ["CWE-77"],
    },
    {
        "cveID": "CVE-2023-4966",
        "vendorProject": "Citrix",
        "product": "NetScaler",
        "vulnerabilityName": "Citrix Bleed",
        "dateAdded": "2023-10-18",
        "shortDescription": "Sensitive information disclosure.",
        "requiredAction": "Apply updates.",
        "dueDate": "2023-11-08",
        "knownRansomwareCampaignUse": "Known",
        "notes": "",
        "cwes": ["CWE-119"],
    },
    {
        "cveID": "CVE-2021-44228",
        "vendorProject": "Apache",
        "product": "Log4j2",
        "vulnerabilityName": "Log4Shell",
        "dateAdded": "2021-12-10",
        "shortDescription": "JNDI lookup remote code execution.",
        "requiredAction": "Apply updates.",
        "dueDate": "2021-12-24",
        "knownRansomwareCampaignUse": "Known",
        "notes": "",
        "cwes": ["CWE-20"],
    },
]


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    """A closed database already holding one KEV entry."""
    db = tmp_path / "small.db"
    source = tmp_path / "seed-kev.json"
    write_kev(source, KEV_ENTRIES[2:])
    result = run(db, "import", "kev", str(source))
    assert result.exit_code == 0, result.stderr
    return db


# -- from a mirror directory -----------------------------------------------------------------


def _instant(obj: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(obj.get("modified") or obj["created"])


def test_sync_from_the_mirror_imports_every_feed(
    tmp_path: Path, enterprise_path: Path, ics_path: Path, misp_path: Path, kev_path: Path
) -> None:
    mirror = data_dir()
    eurepoc_path = shared_file("incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv")
    with eurepoc_path.open(encoding="utf-8") as handle:
        eurepoc_rows = sum(1 for _ in csv.DictReader(handle))
    eurepoc = Counter(o["type"] for o in load_eurepoc(eurepoc_path))
    enterprise = json.loads(enterprise_path.read_bytes())["objects"]
    ics = json.loads(ics_path.read_bytes())["objects"]
    values = json.loads(misp_path.read_bytes())["values"]
    cves = json.loads(kev_path.read_bytes())["vulnerabilities"]

    by_id = {o["id"]: o for o in enterprise}
    ics_versions: Counter[str] = Counter()
    for obj in ics:
        held = by_id.get(obj["id"])
        if held is None:
            ics_versions["added"] += 1
        elif _instant(obj) > _instant(held):
            ics_versions["updated"] += 1
        elif _instant(obj) == _instant(held):
            ics_versions["unchanged"] += 1
        else:
            ics_versions["older"] += 1
        if held is None or _instant(obj) > _instant(held):
            by_id[obj["id"]] = obj
    live = [o for o in by_id.values() if not o.get("revoked")]
    expected_objects = Counter(o["type"] for o in live if o["type"] != "relationship")
    expected_objects["intrusion-set"] += len(values)
    expected_objects["identity"] += 2  # the MISP galaxy's and CISA's
    expected_objects["vulnerability"] += len(cves)
    assert eurepoc["incident"] == eurepoc_rows
    expected_objects["incident"] += eurepoc["incident"]
    expected_objects["identity"] += eurepoc["identity"]
    db = tmp_path / "kb.db"

    result = run(db, "sync", "--mirror", str(mirror), "--json")

    assert result.exit_code == 0, result.stderr
    reports = [r | {"import_id": None} for r in json.loads(result.stdout)]
    report = {"import_id": None, "updated": 0, "unchanged": 0, "older": 0, "foreign": 0}
    assert reports == [
        report
        | {
            "source": "attack",
            "path": str(mirror / "attack/enterprise-attack-18.1.json"),
            "received": len(enterprise),
            "added": len({o["id"] for o in enterprise}),
        },
        report
        | {
            "source": "attack",
            "path": str(mirror / "attack/ics-attack-18.1.json"),
            "received": len(ics),
            **{key: ics_versions[key] for key in ("added", "updated", "unchanged", "older")},
        },
        report
        | {
            "source": "misp-galaxy",
            "path": str(mirror / "misp-galaxy/threat-actor.json"),
            "received": len(values) + 1,
            "added": len(values) + 1,
        },
        report
        | {
            "source": "kev",
            "path": str(mirror / "kev/known_exploited_vulnerabilities.json"),
            "received": len(cves) + 1,
            "added": len(cves) + 1,
        },
        report
        | {
            "source": "eurepoc",
            "path": str(eurepoc_path),
            "received": eurepoc.total(),
            "added": eurepoc.total(),
        },
    ]

    stats = json.loads(run(db, "stats", "--json").stdout)
    assert stats["objects"] == dict(expected_objects)
    assert (
        stats["relationships"]
        == sum(1 for o in live if o["type"] == "relationship") + eurepoc["relationship"]
    )

    # Actors were resolved in the same run: ATT&CK and MISP APT41 are one actor.
    apt41 = json.loads(run(db, "actor", "show", "G0096", "--json").stdout)
    assert sorted(m["source"] for m in apt41["members"]) == ["attack", "misp-galaxy"]


@pytest.fixture
def mirror_without_kev(
    tmp_path: Path, enterprise_path: Path, ics_path: Path, misp_path: Path
) -> Path:
    """A mirror laid out like the shared data (copies: a symlink leading out of the mirror is
    refused) whose KEV file is missing."""
    mirror = tmp_path / "mirror"
    for relative, target in (
        ("attack/enterprise-attack-18.1.json", enterprise_path),
        ("attack/ics-attack-18.1.json", ics_path),
        ("misp-galaxy/threat-actor.json", misp_path),
    ):
        (mirror / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, mirror / relative)
    (mirror / "kev").mkdir()
    return mirror


def test_mirror_missing_a_file_exits_2_and_writes_nothing(
    small_db: Path, mirror_without_kev: Path
) -> None:
    before = sha256(small_db)

    result = run(small_db, "sync", "--mirror", str(mirror_without_kev))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {mirror_without_kev}: mirror has no "
        "kev/known_exploited_vulnerabilities.json for kev"
    ]
    assert sha256(small_db) == before
    assert not small_db.with_name(small_db.name + "-wal").exists()
    stats = json.loads(run(small_db, "stats", "--json").stdout)
    assert stats["objects"] == {"identity": 1, "vulnerability": 1}


def test_failed_sync_creates_no_database_file(tmp_path: Path, mirror_without_kev: Path) -> None:
    db = tmp_path / "never.db"
    result = run(db, "sync", "--mirror", str(mirror_without_kev), "--only", "kev")
    assert result.exit_code == 2
    assert not db.exists()


def test_mirror_that_is_not_a_directory_exits_2(small_db: Path, tmp_path: Path) -> None:
    before = sha256(small_db)
    result = run(small_db, "sync", "--mirror", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'nowhere'}: mirror directory does not exist"
    ]
    assert sha256(small_db) == before


def test_unknown_feed_in_only_exits_2(small_db: Path) -> None:
    result = run(small_db, "sync", "--only", "kev", "--only", "nvd")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: unknown feed(s): nvd; known: attack-enterprise, attack-ics, misp-galaxy, kev,"
        " eurepoc"
    ]


# -- over real HTTP --------------------------------------------------------------------------


class _Server:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        requests = self.requests

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
        )
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    root = tmp_path / "www"
    root.mkdir()
    served = _Server(root)
    thread = threading.Thread(
        target=served.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield served
    finally:
        served.httpd.shutdown()
        served.httpd.server_close()
        thread.join(timeout=10)


def test_sync_kev_over_http(server: _Server, tmp_path: Path, private_home: Path) -> None:
    body = write_kev(server.root / "kev.json", KEV_ENTRIES)
    url = f"{server.base}/kev.json"
    db = tmp_path / "kb.db"

    result = run(db, "sync", "--only", "kev", "--url", f"kev={url}", "--json")

    assert result.exit_code == 0, result.stderr
    assert server.requests == ["/kev.json"]
    cached = sync_cache(private_home) / "kev.json"
    assert cached.read_bytes() == body
    [report] = json.loads(result.stdout)
    assert report | {"import_id": None} == {
        "import_id": None,
        "source": "kev",
        "path": str(cached),
        "received": len(KEV_ENTRIES) + 1,
        "added": len(KEV_ENTRIES) + 1,
        "updated": 0,
        "unchanged": 0,
        "older": 0,
        "foreign": 0,
    }
    with SQLiteStore(db) as kb:
        vulnerabilities = {o["name"]: o for o in kb.iter_objects(types=["vulnerability"])}
    assert sorted(vulnerabilities) == sorted(e["cveID"] for e in KEV_ENTRIES)
    for entry in KEV_ENTRIES:
        vuln = vulnerabilities[entry["cveID"]]
        assert vuln["created"] == f"{entry['dateAdded']}T00:00:00.000Z"
        assert vuln["x_kev_vendor_project"] == entry["vendorProject"]
        assert vuln["x_kev_cwes"] == entry["cwes"]
        assert {"source_name": "cve", "external_id": entry["cveID"]} in vuln["external_references"]

    again = run(db, "sync", "--only", "kev", "--url", f"kev={url}", "--json")
    assert again.exit_code == 0, again.stderr
    [second] = json.loads(again.stdout)
    assert (second["added"], second["unchanged"]) == (0, len(KEV_ENTRIES) + 1)
    assert server.requests == ["/kev.json", "/kev.json"]


def test_sync_404_exits_2_names_the_url_and_writes_nothing(
    server: _Server, small_db: Path, private_home: Path
) -> None:
    url = f"{server.base}/missing/kev.json"
    before = sha256(small_db)

    result = run(small_db, "sync", "--only", "kev", "--url", f"kev={url}")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {url}: HTTP 404"]
    assert server.requests == ["/missing/kev.json"]
    assert sha256(small_db) == before
    assert list(sync_cache(private_home).iterdir()) == []  # no partial download left


def test_sync_404_in_a_real_process(server: _Server, small_db: Path, private_home: Path) -> None:
    url = f"{server.base}/gone.json"
    before = sha256(small_db)

    # The monkeypatched HOME / XDG_CACHE_HOME are in os.environ, so the child inherits them.
    done = subprocess.run(
        [str(THREATSCOPE), "--db", str(small_db), "sync", "--only", "kev", "--url", f"kev={url}"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"error: {url}: HTTP 404"]
    assert server.requests == ["/gone.json"]
    assert sha256(small_db) == before
    assert list(sync_cache(private_home).iterdir()) == []
