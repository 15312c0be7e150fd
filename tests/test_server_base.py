"""What every request to `threatscope serve` goes through, on a real knowledge base: security
headers, one-line JSON errors and never a stack trace, the body limit, who is asking (401 without
credentials unless anonymous reads are on), and the real process: it listens, answers, logs one
JSON line per request and stops gracefully on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, Request
from fastapi.testclient import TestClient

from threatscope import KnowledgeBase
from threatscope.server import ANONYMOUS, Principal, create_app
from threatscope.server.app import SECURITY_HEADERS
from threatscope.server.deps import principal, reader, requires


@pytest.fixture(scope="module")
def kb_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    location = str(tmp_path_factory.mktemp("serve") / "kb.db")
    with KnowledgeBase(location) as kb:
        kb.import_file("misp-galaxy")
    return location


def _app(location: str, **options: object) -> TestClient:
    app = create_app(location, **options)  # type: ignore[arg-type]

    @app.get("/probe")
    def probe(request: Request, who: Principal = Depends(principal)) -> dict:
        return {"user": who.name, "actors": reader(request).stats().actors}

    @app.post("/write")
    def write(who: Principal = Depends(requires("analyst"))) -> dict:
        return {"user": who.name}

    @app.post("/probe-upload")
    async def upload(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    return TestClient(app, raise_server_exceptions=False)


def test_anonymous_reads_only_when_allowed(kb_file: str) -> None:
    closed = _app(kb_file).get("/probe")
    assert closed.status_code == 401
    assert closed.json() == {"title": "authentication required", "http_status": "401"}
    assert closed.headers["www-authenticate"].startswith("Basic realm=")
    opened = _app(kb_file, anonymous_read=True)
    answer = opened.get("/probe")
    assert answer.status_code == 200 and answer.json()["user"] == ANONYMOUS.name
    assert answer.json()["actors"] > 800
    refused = opened.post("/write")
    assert refused.status_code == 401  # no anonymous writes, ever
    bad = opened.get("/probe", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["title"] == "bad credentials"


def test_every_response_carries_the_security_headers(kb_file: str) -> None:
    client = _app(kb_file, anonymous_read=True)
    for response in (client.get("/healthz"), client.get("/probe"), client.get("/absent")):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.url, name)


def test_a_crash_is_one_line_without_a_trace(kb_file: str) -> None:
    response = _app(kb_file, anonymous_read=True).get("/crash")
    assert response.status_code == 500
    assert response.json() == {"title": "internal error", "http_status": "500"}
    assert "passwd" not in response.text and "Traceback" not in response.text


def test_bodies_over_the_limit_are_refused(kb_file: str) -> None:
    client = _app(kb_file, anonymous_read=True, max_body_bytes=1000)
    assert client.post("/probe-upload", content=b"x" * 1000).json() == {"bytes": 1000}
    assert client.post("/probe-upload", content=b"x" * 1001).status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(5):
            yield b"x" * 400

    response = client.post("/probe-upload", content=chunks())
    assert response.status_code == 413
    assert response.json()["title"] == "request body over 1000 bytes"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_real_process_serves_logs_and_stops_gracefully(kb_file: str, tmp_path: Path) -> None:
    port = _free_port()
    cli = Path(sys.executable).parent / "threatscope"
    proc = subprocess.Popen(
        [str(cli), "--db", kb_file, "serve", "--port", str(port), "--anonymous-read"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert answer.json() == {"status": "ok"} and "server" not in answer.headers
    finally:
        proc.send_signal(signal.SIGTERM)
        _, errors = proc.communicate(timeout=30)
    # uvicorn finishes the requests in flight, then re-raises the signal, as a process should.
    assert proc.returncode in (0, -signal.SIGTERM), errors
    assert "Traceback" not in errors
    lines = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    assert {"method": "GET", "path": "/healthz", "status": 200, "user": None}.items() <= (
        lines[-1].items()
    )


def test_a_missing_knowledge_base_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cli = Path(sys.executable).parent / "threatscope"
    absent = tmp_path / "absent.db"
    done = subprocess.run(
        [str(cli), "--db", str(absent), "serve", "--port", str(_free_port())],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {absent}: no knowledge base here yet; fill one with `threatscope sync` or "
        "`threatscope import`"
    ]
    assert not absent.exists()
