"""Users, API tokens, roles, TLP clearance and the audit log (threatscope.access, server/auth.py),
on both backends: the CLI's words and exit codes, tokens stored only as argon2 hashes, Bearer and
Basic logins through the real app, 401/403/429 where they belong, and an audit row for every
write."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import Depends, Request
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from threatscope import KnowledgeBase
from threatscope.access.tokens import VerifiedTokens, parse_token
from threatscope.cli import app
from threatscope.server import Principal, create_app
from threatscope.server.auth import TokenAuthenticator
from threatscope.server.deps import audited, principal, requires
from threatscope.server.principal import Unauthenticated
from threatscope.store import open_store


def cli(location: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", location, *args])


def ok(location: str, *args: str) -> Result:
    result = cli(location, *args)
    assert result.exit_code == 0, result.output
    return result


def rows(location: str, sql: str) -> list[tuple]:
    if location.startswith("postgresql://"):
        with psycopg.connect(location) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    with sqlite3.connect(location) as conn:
        return conn.execute(sql).fetchall()


# -- the command line ----------------------------------------------------------------------------


def test_users_add_list_revoke_through_the_cli(kb_location: str) -> None:
    added = ok(kb_location, "users", "add", "alice", "--role", "analyst", "--clearance", "AMBER")
    assert added.stdout == "added alice: analyst, clearance TLP:AMBER\n"
    ok(kb_location, "users", "add", "bob", "--role", "reader", "--clearance", "amber+strict")
    listed = ok(kb_location, "users", "list", "--json").stdout

    users = json.loads(listed)
    assert [(u["name"], u["role"], u["clearance"], u["revoked"]) for u in users] == [
        ("alice", "analyst", "amber", None),
        ("bob", "reader", "amber+strict", None),
    ]
    assert ok(kb_location, "users", "revoke", "bob").stdout == "revoked bob and their tokens\n"
    users = json.loads(ok(kb_location, "users", "list", "--json").stdout)
    assert users[1]["revoked"] is not None and users[0]["revoked"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("users", "add", "carol", "--role", "boss", "--clearance", "red"),
            "error: role 'boss': expected one of reader, analyst, admin\n",
        ),
        (
            ("users", "add", "carol", "--role", "reader", "--clearance", "purple"),
            "error: clearance 'purple': not a TLP 2.0 level; use one of: clear, green, amber,"
            " amber+strict, red\n",
        ),
        (
            ("users", "add", "ca:rol", "--role", "reader", "--clearance", "red"),
            "error: user name 'ca:rol': expected 1 to 64 letters, digits or . _ @ - (starting"
            " with a letter or digit)\n",
        ),
        (("users", "revoke", "nobody"), "error: no user named 'nobody'\n"),
        (("tokens", "create", "nobody"), "error: no user named 'nobody'\n"),
        (("tokens", "revoke", "0123456789ab"), "error: no token with prefix '0123456789ab'\n"),
        (("audit", "--limit", "0"), "error: limit 0: expected 1 or more\n"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    kb_location: str, args: tuple[str, ...], message: str
) -> None:
    with open_store(kb_location):
        pass  # an empty knowledge base
    result = cli(kb_location, *args)
    assert (result.exit_code, result.stderr, result.stdout) == (2, message, "")
    for table in ("users", "api_tokens", "audit_log"):
        assert rows(kb_location, f"SELECT count(*) FROM {table}") == [(0,)]


def test_a_bad_user_creates_no_knowledge_base(tmp_path: Path) -> None:
    location = str(tmp_path / "kb.db")
    result = cli(location, "users", "add", "carol", "--role", "boss", "--clearance", "red")
    assert result.exit_code == 2
    assert not Path(location).exists()


def test_duplicate_and_revoked_users(kb_location: str) -> None:
    ok(kb_location, "users", "add", "alice", "--role", "admin", "--clearance", "red")
    again = cli(kb_location, "users", "add", "alice", "--role", "reader", "--clearance", "clear")
    assert (again.exit_code, again.stderr) == (2, "error: user 'alice' already exists\n")
    ok(kb_location, "users", "revoke", "alice")
    twice = cli(kb_location, "users", "revoke", "alice")
    assert (twice.exit_code, twice.stderr) == (2, "error: user 'alice' is already revoked\n")
    reused = cli(kb_location, "users", "add", "alice", "--role", "reader", "--clearance", "clear")
    assert reused.stderr == "error: user 'alice' already exists (revoked; names are not reused)\n"
    token = cli(kb_location, "tokens", "create", "alice")
    assert (token.exit_code, token.stderr) == (2, "error: user 'alice' is revoked\n")
    assert rows(kb_location, "SELECT name, role FROM users") == [("alice", "admin")]


def test_token_is_shown_once_and_only_its_hash_is_stored(kb_location: str) -> None:
    ok(kb_location, "users", "add", "alice", "--role", "analyst", "--clearance", "green")
    made = ok(kb_location, "tokens", "create", "alice")
    token = made.stdout.strip()
    parsed = parse_token(token)
    assert parsed is not None, token
    prefix, secret = parsed
    assert made.stderr.startswith(f"token {prefix} for alice: shown this once and never again")
    stored = rows(kb_location, "SELECT username, prefix, secret_hash FROM api_tokens")
    assert [(u, p) for u, p, _ in stored] == [("alice", prefix)]
    assert stored[0][2].startswith("$argon2id$")
    dump = repr(rows(kb_location, "SELECT * FROM api_tokens")) + repr(
        rows(kb_location, "SELECT * FROM audit_log")
    )
    assert secret not in dump and token not in dump
    listed = ok(kb_location, "tokens", "list", "alice").stdout
    assert prefix in listed and secret not in listed
    with KnowledgeBase(kb_location) as kb:
        assert kb.verify_token(token) is not None
        assert kb.verify_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_cli_changes_are_audited(kb_location: str) -> None:
    ok(kb_location, "users", "add", "alice", "--role", "analyst", "--clearance", "green")
    prefix = parse_token(ok(kb_location, "tokens", "create", "alice").stdout.strip())[0]  # type: ignore[index]
    ok(kb_location, "tokens", "revoke", prefix)
    ok(kb_location, "users", "revoke", "alice")

    log = json.loads(ok(kb_location, "audit", "--json").stdout)
    assert [(e["action"], e["target"], e["remote"]) for e in log] == [
        ("user.revoke", "alice", "local"),
        ("token.revoke", "alice", "local"),
        ("token.create", "alice", "local"),
        ("user.add", "alice", "local"),
    ]
    assert all(e["user"].startswith("local:") and e["time"].endswith("Z") for e in log)
    assert log[3]["detail"] == {"clearance": "green", "role": "analyst"}
    assert log[2]["detail"] == {"prefix": prefix}
    assert len(json.loads(ok(kb_location, "audit", "--json", "--limit", "2").stdout)) == 2


# -- the server ----------------------------------------------------------------------------------


@pytest.fixture
def accounts(kb_location: str) -> dict[str, str]:
    """Three users, one of each role, and a token for each; the knowledge base's location."""
    made = {"location": kb_location}
    with KnowledgeBase(kb_location) as kb:
        for name, role, clearance in (
            ("rita", "reader", "clear"),
            ("anna", "analyst", "amber"),
            ("adam", "admin", "red"),
        ):
            kb.add_user(name, role, clearance)
            made[name] = kb.create_token(name).token
    return made


def _client(location: str, **options: object) -> Iterator[TestClient]:
    server = create_app(location, **options)  # type: ignore[arg-type]

    @server.get("/whoami")
    def whoami(who: Principal = Depends(principal)) -> dict:
        return {"user": who.name, "role": who.role, "clearance": who.clearance.key}

    @server.post("/notes")
    def add_note(request: Request, who: Principal = Depends(requires("analyst"))) -> dict:
        audited(request, "note.add", "note--1", {"words": 3})
        return {"user": who.name}

    @server.delete("/notes/{note}")
    def delete_note(note: str, who: Principal = Depends(requires("analyst"))) -> dict:
        return {"deleted": note}  # records nothing itself: the app audits it

    @server.post("/admin/reindex")
    def reindex(who: Principal = Depends(requires("admin"))) -> dict:
        return {"user": who.name}

    with TestClient(server, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(accounts: dict[str, str]) -> Iterator[TestClient]:
    yield from _client(accounts["location"], authenticator=TokenAuthenticator(accounts["location"]))


def basic(user: str, token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bearer_and_basic_both_authenticate(client: TestClient, accounts: dict[str, str]) -> None:
    expected = {"user": "anna", "role": "analyst", "clearance": "amber"}
    assert client.get("/whoami", headers=bearer(accounts["anna"])).json() == expected
    assert client.get("/whoami", headers=basic("anna", accounts["anna"])).json() == expected
    assert client.get("/whoami", headers=bearer(accounts["adam"])).json()["clearance"] == "red"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer ts_000000000000_" + "A" * 43},  # unknown prefix
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Digest abc"},
        {"Authorization": "Basic !!!"},
    ],
)
def test_bad_credentials_are_401(client: TestClient, headers: dict[str, str]) -> None:
    answer = client.get("/whoami", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic realm=")


def test_a_wrong_secret_or_another_users_name_is_401(
    client: TestClient, accounts: dict[str, str]
) -> None:
    token = accounts["anna"]
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/whoami", headers=bearer(wrong)).status_code == 401
    assert client.get("/whoami", headers=basic("adam", token)).status_code == 401
    assert client.get("/whoami").status_code == 401  # no credentials, no anonymous reads


def test_revoked_token_and_revoked_user_are_401_at_once(
    client: TestClient, accounts: dict[str, str]
) -> None:
    for name in ("anna", "rita"):  # verified, so in the cache
        assert client.get("/whoami", headers=bearer(accounts[name])).status_code == 200
    with KnowledgeBase(accounts["location"]) as kb:
        kb.revoke_token(parse_token(accounts["anna"])[0])  # type: ignore[index]
        kb.revoke_user("rita")
    assert client.get("/whoami", headers=bearer(accounts["anna"])).status_code == 401
    assert client.get("/whoami", headers=basic("rita", accounts["rita"])).status_code == 401
    assert client.get("/whoami", headers=bearer(accounts["adam"])).status_code == 200


def test_revocation_elsewhere_takes_effect_within_the_cache_ttl(accounts: dict[str, str]) -> None:
    cache = VerifiedTokens(ttl=0.5)
    authenticate = TokenAuthenticator(accounts["location"], cache=cache)
    assert authenticate(f"Bearer {accounts['anna']}").name == "anna"  # type: ignore[union-attr]
    # Another process revokes: its SQL, not this process's KnowledgeBase (which would clear).
    rows_sql = "UPDATE api_tokens SET revoked = 'now' WHERE username = 'anna'"
    if accounts["location"].startswith("postgresql://"):
        with psycopg.connect(accounts["location"]) as conn:
            conn.execute(rows_sql)
    else:
        with sqlite3.connect(accounts["location"]) as conn:
            conn.execute(rows_sql)
    assert authenticate(f"Bearer {accounts['anna']}").name == "anna"  # type: ignore[union-attr]
    time.sleep(0.6)

    with pytest.raises(Unauthenticated, match="bad credentials"):
        authenticate(f"Bearer {accounts['anna']}")


def test_roles_are_checked_and_anonymous_never_writes(
    accounts: dict[str, str],
) -> None:
    location = accounts["location"]
    for client in _client(
        location, authenticator=TokenAuthenticator(location), anonymous_read=True
    ):
        assert client.get("/whoami").json()["user"] == "anonymous"
        assert client.post("/notes").status_code == 401
        refused = client.post("/notes", headers=bearer(accounts["rita"]))
        assert (refused.status_code, refused.json()["title"]) == (
            403,
            "rita is a reader; this needs analyst",
        )
        assert client.post("/admin/reindex", headers=bearer(accounts["anna"])).status_code == 403
        assert client.post("/notes", headers=bearer(accounts["anna"])).status_code == 200
        assert client.post("/admin/reindex", headers=bearer(accounts["adam"])).status_code == 200
    with KnowledgeBase(location) as kb:
        writes = [e for e in kb.audit_log() if not e.action.startswith(("user.", "token."))]
    # Only the two writes that were let through are in the log.
    assert [(e.user, e.action) for e in writes] == [
        ("adam", "POST /admin/reindex"),
        ("anna", "note.add"),
    ]


def test_every_write_is_audited_who_when_what_from_where(
    client: TestClient, accounts: dict[str, str]
) -> None:
    assert client.post("/notes", headers=basic("anna", accounts["anna"])).status_code == 200
    assert client.delete("/notes/n1", headers=bearer(accounts["anna"])).status_code == 200
    assert client.get("/whoami", headers=bearer(accounts["anna"])).status_code == 200  # a read
    with KnowledgeBase(accounts["location"]) as kb:
        log = [e for e in kb.audit_log() if not e.action.startswith(("user.", "token."))]
    assert [(e.user, e.action, e.target, e.remote, e.detail) for e in log] == [
        ("anna", "DELETE /notes/n1", None, "testclient", {"status": 200}),
        ("anna", "note.add", "note--1", "testclient", {"words": 3}),
    ]
    assert all(e.time.endswith("Z") and e.time[:4] >= "2025" for e in log)


def test_failed_logins_are_limited_per_address(
    client: TestClient, accounts: dict[str, str]
) -> None:
    for _ in range(10):
        assert client.get("/whoami", headers=bearer("wrong")).status_code == 401
    limited = client.get("/whoami", headers=bearer(accounts["anna"]))
    assert limited.status_code == 429
    assert limited.json()["title"] == "too many failed logins; try again later"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.get("/healthz").status_code == 200  # no credentials: not limited


def test_serve_defaults_to_tokens_when_the_knowledge_base_has_users(
    accounts: dict[str, str], tmp_path: object
) -> None:
    location = accounts["location"]
    server = create_app(location)
    assert isinstance(server.state.authenticator, TokenAuthenticator)
    assert server.state.authenticator(f"Bearer {accounts['adam']}").name == "adam"


def test_a_user_added_while_the_server_runs_logs_in_without_a_restart(kb_location: str) -> None:
    with KnowledgeBase(kb_location) as kb:
        kb.record_audit("x", "touch")  # a knowledge base without users
    authenticate = create_app(kb_location).state.authenticator
    with pytest.raises(Unauthenticated, match="bad credentials"):
        authenticate("Bearer ts_000000000000_nothing")
    with KnowledgeBase(kb_location) as kb:
        kb.add_user("late", "reader", "green")
        token = kb.create_token("late").token
    assert authenticate(f"Bearer {token}").name == "late"


def test_token_verification_cost_with_and_without_the_cache(accounts: dict[str, str]) -> None:
    """Measured for the report: argon2 on every request against a cache hit."""
    header = f"Bearer {accounts['anna']}"
    uncached = TokenAuthenticator(accounts["location"], cache=None)
    cached = TokenAuthenticator(accounts["location"], cache=VerifiedTokens())
    cached(header)

    def per_call(authenticate: TokenAuthenticator, times: int) -> float:
        started = time.perf_counter()
        for _ in range(times):
            authenticate(header)
        return (time.perf_counter() - started) / times * 1000

    slow, fast = per_call(uncached, 5), per_call(cached, 200)
    print(f"token verification: {slow:.1f} ms without the cache, {fast:.3f} ms with it")
    assert fast * 20 < slow


def test_the_access_page_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (Path(__file__).parent.parent / "docs" / "access.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", page, re.DOTALL)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "docs/access.md", "exec"), {})
    assert capsys.readouterr().out == "['user.revoke', 'token.create', 'user.add']\n"


TAXII_STATE = "TAXII state: user-defined collections, import resume points"


def test_an_older_knowledge_base_gains_the_account_tables(kb_location: str) -> None:
    """SQLite's steps are checked against each historic schema (test_migrations.py); here a
    PostgreSQL knowledge base of version 2 (and a SQLite one of version 5) is brought up."""
    with open_store(kb_location):
        pass
    drop = ["DROP TABLE audit_log", "DROP TABLE api_tokens", "DROP TABLE users"]
    if kb_location.startswith("postgresql://"):
        with psycopg.connect(kb_location) as conn:
            for statement in [*drop, "UPDATE threatscope_schema SET version = 2"]:
                conn.execute(statement)
        expected = [(3, "user accounts: users, api_tokens, audit_log"), (4, TAXII_STATE)]
    else:
        with sqlite3.connect(kb_location) as conn:
            for statement in [*drop, "PRAGMA user_version = 5"]:
                conn.execute(statement)
        expected = [(6, "user accounts: users, api_tokens, audit_log"), (7, TAXII_STATE)]
    with open_store(kb_location) as store:
        assert store.upgrade.steps == expected
    with KnowledgeBase(kb_location) as kb:
        kb.add_user("alice", "reader", "clear")
        assert [u.name for u in kb.users()] == ["alice"]
