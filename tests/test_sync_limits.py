"""Issue 11 item 9: every `sync` download has a deadline over the whole download, a size limit
per feed counted on decoded bytes, and its own temporary file. Each hostile server is a real
HTTP server on 127.0.0.1 in a thread."""

from __future__ import annotations

import contextlib
import hashlib
import json
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.store import SQLiteStore

THREATSCOPE = Path(sys.executable).parent / "threatscope"
MiB = 1 << 20


def kev_entry(cve: str) -> dict[str, object]:
    return {
        "cveID": cve,
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
    }


CVES = [f"CVE-2024-{n:04d}" for n in range(1, 401)]
KEV_BODY = json.dumps(
    {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2024.05.02",
        "dateReleased": "2024-05-02T15:30:00.1234Z",
        "count": len(CVES),
        "vulnerabilities": [kev_entry(cve) for cve in CVES],
    }
).encode()


def gzip_bomb(mebibytes: int) -> bytes:
    """A valid gzip stream of `mebibytes` MiB of zeros in about 1 KiB per MiB: after a full
    flush the compressor starts afresh, so every further MiB compresses to the same block."""
    zeros = bytes(MiB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    last_empty_block = b"\x03\x00"
    trailer = struct.pack("<II", crc, (mebibytes * MiB) & 0xFFFFFFFF)
    return first + block * (mebibytes - 1) + last_empty_block + trailer


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is fine
            super().handle_error(request, client_address)


class Server:
    """Routes a path to a handler function; `stop` ends every slow handler at teardown."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.requests: list[str] = []
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                self.close_connection = True  # one request per connection
                with contextlib.suppress(ConnectionError):  # the client gave up, as it should
                    route(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def server() -> Iterator[Server]:
    served = Server()
    thread = threading.Thread(
        target=served.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield served
    finally:
        served.stop.set()
        served.httpd.shutdown()
        served.httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own download cache; localhost is never proxied."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return tmp_path / "cache" / "threatscope" / "sync"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def sync_kev(db: Path, url: str, *args: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = run(db, "sync", "--only", "kev", "--url", f"kev={url}", *args)
    return result, time.monotonic() - started


def headers(handler: BaseHTTPRequestHandler, **fields: str) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    for name, value in fields.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()


def assert_nothing_cached(cache: Path) -> None:
    assert not cache.exists() or list(cache.iterdir()) == []


# -- a deadline over the whole download ------------------------------------------------------


def test_a_server_dripping_a_byte_at_a_time_is_cut_at_the_deadline(
    server: Server, cache: Path, tmp_path: Path
) -> None:
    def drip(handler: BaseHTTPRequestHandler) -> None:
        headers(handler, Connection="close")  # no length: the body ends when the server says
        handler.wfile.write(b"{")
        handler.wfile.flush()
        while not server.stop.wait(0.1):  # well inside any per-read timeout
            handler.wfile.write(b" ")
            handler.wfile.flush()

    server.routes["/drip"] = drip
    url = server.url("/drip")
    db = tmp_path / "kb.db"

    result, seconds = sync_kev(db, url, "--deadline", "1")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {url}: not complete after 1 s, the deadline"]
    assert seconds < 5
    assert not db.exists()
    assert_nothing_cached(cache)


def test_a_server_that_stops_sending_is_cut_at_the_deadline(
    server: Server, cache: Path, tmp_path: Path
) -> None:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        headers(handler, Content_Length=str(len(KEV_BODY)))
        handler.wfile.write(KEV_BODY[:100])
        handler.wfile.flush()
        server.stop.wait(60)

    server.routes["/stall"] = stall
    url = server.url("/stall")

    result, seconds = sync_kev(tmp_path / "kb.db", url, "--deadline", "1.5")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {url}: not complete after 1.5 s, the deadline"]
    assert seconds < 5
    assert_nothing_cached(cache)


def test_a_server_dripping_its_headers_is_cut_at_the_deadline(
    server: Server, cache: Path, tmp_path: Path
) -> None:
    def slow_headers(handler: BaseHTTPRequestHandler) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 1000:
            if server.stop.wait(0.1):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    server.routes["/slow-headers"] = slow_headers
    url = server.url("/slow-headers")

    result, seconds = sync_kev(tmp_path / "kb.db", url, "--deadline", "1")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {url}: not complete after 1 s, the deadline"]
    assert seconds < 5
    assert_nothing_cached(cache)


def test_the_default_deadline_leaves_a_normal_download_alone(
    server: Server, cache: Path, tmp_path: Path
) -> None:
    def kev(handler: BaseHTTPRequestHandler) -> None:
        headers(handler, Content_Length=str(len(KEV_BODY)))
        handler.wfile.write(KEV_BODY)

    server.routes["/kev.json"] = kev
    db = tmp_path / "kb.db"

    result, _ = sync_kev(db, server.url("/kev.json"), "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["added"] == len(CVES) + 1
    assert (cache / "kev.json").read_bytes() == KEV_BODY


@pytest.mark.parametrize("deadline", ["0", "-1", "nan", "inf", "1e9"])
def test_a_deadline_that_makes_no_sense_exits_2(
    server: Server, cache: Path, tmp_path: Path, deadline: str
) -> None:
    result, _ = sync_kev(tmp_path / "kb.db", server.url("/kev.json"), "--deadline", deadline)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: --deadline takes seconds above 0 and up to 604800, got {float(deadline):g}"
    ]
    assert server.requests == []


# -- a size limit per feed, on decoded bytes -------------------------------------------------


def test_a_gzip_bomb_stops_at_the_feeds_limit(server: Server, cache: Path, tmp_path: Path) -> None:
    bomb = gzip_bomb(1024)  # 1 GiB of zeros in about 1 MiB

    def gzipped(handler: BaseHTTPRequestHandler) -> None:
        headers(handler, Content_Encoding="gzip", Content_Length=str(len(bomb)))
        handler.wfile.write(bomb)

    server.routes["/bomb"] = gzipped
    url = server.url("/bomb")
    db = tmp_path / "kb.db"

    result, _ = sync_kev(db, url)

    assert len(bomb) < 1.1 * MiB
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {url}: larger than 64 MiB, the limit for kev"]
    assert not db.exists()
    assert_nothing_cached(cache)


def test_an_endless_body_stops_at_the_feeds_limit(
    server: Server, cache: Path, tmp_path: Path
) -> None:
    sent = []

    def endless(handler: BaseHTTPRequestHandler) -> None:
        headers(handler, Connection="close")
        block = b" " * MiB
        while not server.stop.is_set() and len(sent) < 1024:
            handler.wfile.write(block)
            sent.append(len(block))

    server.routes["/endless"] = endless
    url = server.url("/endless")

    result, _ = sync_kev(tmp_path / "kb.db", url)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {url}: larger than 64 MiB, the limit for kev"]
    assert_nothing_cached(cache)
    assert sum(sent) < 128 * MiB  # the client hung up soon after the limit


def test_an_announced_size_over_the_limit_is_refused_before_reading(
    server: Server, cache: Path, tmp_path: Path
) -> None:
    def liar(handler: BaseHTTPRequestHandler) -> None:
        headers(handler, Content_Length=str(10 * 1024 * MiB))
        handler.wfile.write(b"{}")
        handler.wfile.flush()
        server.stop.wait(60)

    server.routes["/huge"] = liar
    url = server.url("/huge")

    result, seconds = sync_kev(tmp_path / "kb.db", url)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {url}: announces 10 GiB, over 64 MiB, the limit for kev"
    ]
    assert seconds < 5
    assert_nothing_cached(cache)


# -- concurrent syncs, and what --url accepts ------------------------------------------------


def test_two_concurrent_syncs_both_import_the_whole_file(
    server: Server, cache: Path, tmp_path: Path
) -> None:
    both_asked = threading.Barrier(2, timeout=30)

    def together(handler: BaseHTTPRequestHandler) -> None:
        both_asked.wait()  # the two downloads overlap for certain
        headers(handler, Content_Length=str(len(KEV_BODY)))
        step = len(KEV_BODY) // 4 + 1
        for start in range(0, len(KEV_BODY), step):
            handler.wfile.write(KEV_BODY[start : start + step])
            handler.wfile.flush()
            time.sleep(0.1)

    server.routes["/kev.json"] = together
    url = server.url("/kev.json")
    dbs = [tmp_path / "first.db", tmp_path / "second.db"]

    syncs = [
        subprocess.Popen(
            [str(THREATSCOPE), "--db", str(db), "sync", "--only", "kev", "--url", f"kev={url}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for db in dbs
    ]
    outcomes = [sync.communicate(timeout=120) for sync in syncs]

    assert [sync.returncode for sync in syncs] == [0, 0], outcomes
    assert server.requests == ["/kev.json", "/kev.json"]
    for db in dbs:
        with SQLiteStore(db) as kb:
            names = sorted(o["name"] for o in kb.iter_objects(types=["vulnerability"]))
        assert names == CVES
    assert [p.name for p in cache.iterdir()] == ["kev.json"]  # no temporary file left
    digest = hashlib.sha256((cache / "kev.json").read_bytes()).hexdigest()
    assert digest == hashlib.sha256(KEV_BODY).hexdigest()


@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_url_exits_2_instead_of_using_the_official_one(
    cache: Path, tmp_path: Path, value: str
) -> None:
    db = tmp_path / "kb.db"
    result = run(db, "sync", "--only", "kev", "--url", f"kev={value}")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: --url kev= gives no URL"]
    assert not db.exists()
    assert_nothing_cached(cache)


def test_a_url_for_an_unknown_feed_exits_2(cache: Path, tmp_path: Path) -> None:
    result = run(tmp_path / "kb.db", "sync", "--url", "nvd=http://127.0.0.1:9/nvd.json")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --url for unknown feed(s): nvd; known: attack-enterprise, attack-ics,"
        " misp-galaxy, kev, eurepoc"
    ]
