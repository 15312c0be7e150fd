"""The web UI (server/ui_*.py) through its forms, on both backends: login, the session cookie and
the failed-login limit, CSRF refusals, roles (split/join for analysts only), TLP (a GREEN user
never sees a RED actor or object, on any page), escaping, and upload → review → store landing
its objects and an audit row.

The fixture tests/fixtures/ui_marked.json holds actors, malware, indicators and relationships
marked CLEAR, GREEN and RED (each description says which), imported beside the MISP galaxy."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import new_location, shared_file
from threatscope import KnowledgeBase
from threatscope.server import create_app
from threatscope.server.ui_login import safe_next
from threatscope.server.ui_session import COOKIE

FIXTURE = Path(__file__).parent / "fixtures" / "ui_marked.json"
CRIMSON = "intrusion-set--00000000-0000-4000-8000-000000000001"  # RED
VERDANT = "intrusion-set--00000000-0000-4000-8000-000000000002"  # GREEN
TURLA_GREEN = "intrusion-set--00000000-0000-4000-8000-000000000004"  # merges with MISP's Turla
USERS = {
    "green": ("reader", "green"),
    "reader": ("reader", "red"),
    "ana": ("analyst", "red"),
    "leaver": ("reader", "red"),  # revoked by a test
}


@pytest.fixture(scope="module")
def kb_ui(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """(location, token per user) of a knowledge base with the MISP galaxy and the fixture."""
    location = new_location(request, backend, tmp_path_factory.mktemp("ui"))
    tokens = {}
    with KnowledgeBase(location) as kb:
        kb.import_file("misp-galaxy")
        kb.import_file("stix", FIXTURE)
        for name, (role, clearance) in USERS.items():
            kb.add_user(name, role, clearance)
            tokens[name] = kb.create_token(name).token
    yield location, tokens


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def _client(location: str, **options: object) -> TestClient:
    return TestClient(create_app(location, **options), raise_server_exceptions=False)  # type: ignore[arg-type]


def _logged_in(kb_ui: tuple[str, dict[str, str]], user: str) -> TestClient:
    location, tokens = kb_ui
    client = _client(location)
    csrf = _csrf(client.get("/login").text)
    answer = client.post(
        "/login", data={"csrf": csrf, "username": user, "token": tokens[user]},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def _audit_actions(location: str) -> list[tuple[str, str, str | None]]:
    with KnowledgeBase(location, read_only=True) as kb:
        return [(e.user, e.action, e.target) for e in kb.audit_log()]


def test_every_page_needs_a_login(kb_ui: tuple[str, dict[str, str]]) -> None:
    client = _client(kb_ui[0])
    for path, back in (("/", "/"), ("/search?q=x", "/search%3Fq%3Dx"), (f"/actors/{VERDANT}", None),
                       ("/upload", "/upload")):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=/"), path
        if back is not None:
            assert answer.headers["location"] == f"/login?next={back}"


def test_login_bad_then_good_sets_a_strict_session_cookie(
    kb_ui: tuple[str, dict[str, str]],
) -> None:
    location, tokens = kb_ui
    client = _client(location)
    form = client.get("/login?next=/search")
    assert form.status_code == 200 and '<label for="token">API token</label>' in form.text
    csrf = _csrf(form.text)
    bad = client.post("/login", data={"csrf": csrf, "username": "ana", "token": "nope"})
    assert bad.status_code == 401
    error = '<p class="error" role="alert" id="login-error">Wrong user name or token.</p>'
    assert error in bad.text
    assert 'name="username" value="ana"' in bad.text  # kept for the next try
    # Another user's name with ana's token is no login either.
    other = client.post("/login", data={"csrf": csrf, "username": "green", "token": tokens["ana"]})
    assert other.status_code == 401
    good = client.post(
        "/login", data={"csrf": csrf, "username": "ana", "token": tokens["ana"], "next": "/search"},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/search"
    cookie = good.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # plain http on loopback; https requests get Secure
    page = client.get("/search")
    assert page.status_code == 200 and "ana · analyst · cleared for TLP:RED" in page.text
    assert ("ana", "ui login", None) in _audit_actions(location)
    # A tampered cookie is no session.
    client.cookies.set(COOKIE, client.cookies[COOKIE][:-2] + "xx")
    assert client.get("/search", follow_redirects=False).status_code == 303


def test_login_to_elsewhere_stays_on_this_server(kb_ui: tuple[str, dict[str, str]]) -> None:
    location, tokens = kb_ui
    client = _client(location)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        csrf = _csrf(client.get("/login").text)  # each login starts a new session
        answer = client.post(
            "/login", data={"csrf": csrf, "username": "green", "token": tokens["green"],
                            "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/", target


def test_failed_logins_are_limited_as_the_api_does(kb_ui: tuple[str, dict[str, str]]) -> None:
    location, tokens = kb_ui
    client = _client(location)
    csrf = _csrf(client.get("/login").text)
    for _ in range(10):
        assert client.post(
            "/login", data={"csrf": csrf, "username": "ana", "token": "guess"}
        ).status_code == 401
    # Even the right token waits now: guessing must stay slow.
    limited = client.post("/login", data={"csrf": csrf, "username": "ana", "token": tokens["ana"]})
    assert limited.status_code == 429
    assert "Too many failed logins; try again in" in limited.text
    assert int(limited.headers["retry-after"]) > 0


def test_a_post_without_the_session_csrf_token_is_refused(
    kb_ui: tuple[str, dict[str, str]],
) -> None:
    location, tokens = kb_ui
    fresh = _client(location)
    no_session = fresh.post("/login", data={"username": "ana", "token": tokens["ana"]})
    assert no_session.status_code == 403
    assert "CSRF token is missing or wrong" in no_session.text
    client = _logged_in(kb_ui, "ana")
    before = _audit_actions(location)
    posts = {
        f"/actors/{TURLA_GREEN}/split": {"member": TURLA_GREEN},
        f"/actors/{TURLA_GREEN}/join": {},
        "/upload": {"text": "CVE-2024-3400"},
        "/upload/store": {"text": "CVE-2024-3400", "name": "x.txt"},
        "/logout": {},
    }
    for path, data in posts.items():
        for csrf in (None, "forged"):
            sent = data if csrf is None else {**data, "csrf": csrf}
            answer = client.post(path, data=sent, follow_redirects=False)
            assert answer.status_code == 403, (path, csrf)
    assert _audit_actions(location) == before
    assert client.get("/search").status_code == 200  # still logged in: /logout was refused


def test_readers_see_no_split_or_join_and_may_not_post_them(
    kb_ui: tuple[str, dict[str, str]],
) -> None:
    reader = _logged_in(kb_ui, "reader")
    page = reader.get("/actors/Turla")
    assert page.status_code == 200 and "<h1>Turla</h1>" in page.text
    assert "Split out" not in page.text and "/split" not in page.text
    refused = reader.post(
        f"/actors/{TURLA_GREEN}/split", data={"csrf": _csrf(page.text), "member": TURLA_GREEN}
    )
    assert refused.status_code == 403
    assert "reader is a reader; this needs an analyst." in refused.text
    analyst = _logged_in(kb_ui, "ana")
    assert analyst.get("/actors/Turla").text.count(">Split out</button>") == 2


def test_an_analyst_splits_and_joins_and_both_are_audited(
    kb_ui: tuple[str, dict[str, str]],
) -> None:
    location = kb_ui[0]
    client = _logged_in(kb_ui, "ana")
    page = client.get("/actors/Turla")
    merged_id = re.search(r'action="/actors/([^/"]+)/split"', page.text).group(1)  # type: ignore[union-attr]
    split = client.post(
        f"/actors/{merged_id}/split", data={"csrf": _csrf(page.text), "member": TURLA_GREEN},
        follow_redirects=False,
    )
    assert split.status_code == 303 and split.headers["location"] == f"/actors/{TURLA_GREEN}"
    alone = client.get(f"/actors/{TURLA_GREEN}")
    assert "Resolved from (1)" in alone.text and "Join again" in alone.text
    assert ("ana", "actor split", TURLA_GREEN) in _audit_actions(location)
    joined = client.post(
        f"/actors/{TURLA_GREEN}/join", data={"csrf": _csrf(alone.text)}, follow_redirects=False
    )
    assert joined.status_code == 303
    assert ("ana", "actor join", TURLA_GREEN) in _audit_actions(location)
    assert "Resolved from (2)" in client.get("/actors/Turla").text


def test_a_green_user_never_sees_red(kb_ui: tuple[str, dict[str, str]]) -> None:
    green = _logged_in(kb_ui, "green")
    red = _logged_in(kb_ui, "reader")
    hidden = green.get(f"/actors/{CRIMSON}")
    assert hidden.status_code == 404
    assert "No actor by that name, or it is marked above your clearance." in hidden.text
    assert "Crimson Quill" not in hidden.text
    assert green.get("/actors/QUILL-RED").status_code == 404
    shown = red.get(f"/actors/{CRIMSON}")
    assert shown.status_code == 200 and "QUILL-RED" in shown.text and "Redshank" in shown.text
    # The GREEN actor: its GREEN malware shown; RED malware and a RED link to GREEN malware not.
    lark_green, lark_red = green.get(f"/actors/{VERDANT}").text, red.get(f"/actors/{VERDANT}").text
    assert "Software (1)" in lark_green and "Larkspur" in lark_green
    assert "Redshank" not in lark_green and "Quillbolt" not in lark_green
    assert "Software (3)" in lark_red and "Redshank" in lark_red and "Quillbolt" in lark_red
    for query, visible_to_green, visible_to_red in (
        ("quill", ["Quillbolt"], ["Crimson Quill", "Quillbolt", "quill-c2.example"]),
        ("redshank", [], ["Redshank"]),
        ("c2.example", ["lark-c2.example"], ["lark-c2.example", "quill-c2.example"]),
    ):
        page_green = green.get("/search", params={"q": query}).text
        page_red = red.get("/search", params={"q": query}).text
        for name in visible_to_red:
            assert name in page_red, (query, name)
            assert (name in page_green) == (name in visible_to_green), (query, name)
    # The dashboard draws on everything, RED included: hidden from GREEN, and it says so.
    dashboard = green.get("/")
    assert dashboard.status_code == 403
    assert "above your clearance (TLP:GREEN): it is not shown to you." in dashboard.text
    cleared = red.get("/")
    assert cleared.status_code == 400  # shown, and the fixture has no incidents to chart
    assert "no dated incidents" in cleared.text and "not shown to you" not in cleared.text


def test_anonymous_reads_see_clear_only(kb_ui: tuple[str, dict[str, str]]) -> None:
    anonymous = _client(kb_ui[0], anonymous_read=True)
    page = anonymous.get("/search", params={"q": "Finch"})
    assert page.status_code == 200 and "Pale Finch" in page.text
    assert "Anonymous (TLP:CLEAR only)" in page.text
    assert anonymous.get(f"/actors/{VERDANT}").status_code == 404
    assert "Larkspur" not in anonymous.get("/search", params={"q": "lark"}).text
    assert anonymous.get("/upload").status_code == 401


def test_names_are_escaped(kb_ui: tuple[str, dict[str, str]]) -> None:
    client = _logged_in(kb_ui, "green")
    page = client.get("/search", params={"q": "<script>"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Group" in page.text
    assert "<script>" not in page.text
    assert 'value="&lt;script&gt;"' in page.text


REPORT = (
    "Turla operators reused Larkspur against a ministry in Austria. They exploited "
    "CVE-2024-3400 and T1566.001; command and control at 203.0.113.7 and evil-update.com, "
    "with a second server at badhost.net."
)


def test_upload_review_store_lands_the_reviewed_objects_and_an_audit_row(
    kb_ui: tuple[str, dict[str, str]],
) -> None:
    location = kb_ui[0]
    client = _logged_in(kb_ui, "ana")
    form = client.get("/upload")
    assert form.status_code == 200 and '<label for="text">Report text</label>' in form.text
    review = client.post(
        "/upload", data={"csrf": _csrf(form.text)},
        files={"file": ("turla-note.txt", REPORT.encode(), "text/plain")},
    )
    assert review.status_code == 200, review.text
    assert "<h1>Review: turla-note.txt</h1>" in review.text
    keys = re.findall(r'name="drop" value="([^"]+)"', review.text)
    assert "ioc:cve:CVE-2024-3400" in keys and "technique:T1566.001" in keys
    assert "ioc:ipv4:203.0.113.7" in keys and "ioc:domain:badhost.net" in keys
    assert any(key.startswith("actors:") for key in keys)  # Turla, suggested
    assert all(action != "POST /upload" for _, action, _ in _audit_actions(location))
    stored = client.post(
        "/upload/store",
        data={"csrf": _csrf(review.text), "name": "turla-note.txt", "text": REPORT,
              "drop": ["ioc:ipv4:203.0.113.7"]},
    )
    assert stored.status_code == 200, stored.text
    assert "<h1>Stored: turla-note.txt</h1>" in stored.text
    report_id = re.search(r"Report <code>(report--[0-9a-f-]+)</code>", stored.text).group(1)  # type: ignore[union-attr]
    with KnowledgeBase(location, read_only=True) as kb:
        report = kb.store.get_object(report_id)
        assert report is not None and report["name"] == "turla-note.txt"
        stored = kb.store.search_objects("", ["indicator", "vulnerability"], 4, 99)
        names = {name for _, _, name in stored}
        assert "CVE-2024-3400" in names and "badhost.net" in names
        assert "203.0.113.7" not in names  # dropped in review
        event = kb.audit_log(limit=1)[0]
    assert (event.user, event.action, event.target) == ("ana", "ui extract store", report_id)
    assert event.detail["dropped"] == ["ioc:ipv4:203.0.113.7"]


def test_readers_review_but_may_not_store(kb_ui: tuple[str, dict[str, str]]) -> None:
    client = _logged_in(kb_ui, "reader")
    csrf = _csrf(client.get("/upload").text)
    review = client.post("/upload", data={"csrf": csrf, "text": REPORT})
    assert review.status_code == 200 and "(storing needs an analyst)" in review.text
    assert ">Store</button>" not in review.text
    refused = client.post("/upload/store", data={"csrf": csrf, "text": REPORT, "name": "x.txt"})
    assert refused.status_code == 403
    assert "reader is a reader; storing needs an analyst." in refused.text
    empty = client.post("/upload", data={"csrf": csrf, "text": "  "})
    assert empty.status_code == 400 and "Paste a report&#39;s text or choose a file." in empty.text


def test_the_browse_queries_answer_alike_on_both_backends(
    kb_ui: tuple[str, dict[str, str]],
) -> None:
    with KnowledgeBase(kb_ui[0], read_only=True) as kb:
        store = kb.store
        green, red = 1, 4
        assert store.search_objects("QUILL", ["malware", "indicator"], red, 10) == [
            ("indicator--00000000-0000-4000-8000-000000000010", "indicator", "quill-c2.example"),
            ("malware--00000000-0000-4000-8000-000000000006", "malware", "Quillbolt"),
        ]
        assert store.search_objects("quill", ["malware", "indicator"], green, 10) == [
            ("malware--00000000-0000-4000-8000-000000000006", "malware", "Quillbolt"),
        ]
        # % and _ are literal, not wildcards.
        assert store.search_objects("%", ["malware"], red, 10) == []
        assert store.search_objects("_", ["malware"], red, 10) == []
        linked = store.linked_objects([VERDANT], green)
        assert [(d, t, i) for d, t, i, _ in linked] == [
            ("in", "indicates", "indicator--00000000-0000-4000-8000-000000000009"),
            ("out", "uses", "malware--00000000-0000-4000-8000-000000000008"),
        ]
        assert len(store.linked_objects([VERDANT], red)) == 4
        assert store.object_tlp_ranks([CRIMSON, VERDANT, "x--absent"]) == {CRIMSON: 4, VERDANT: 1}
        ranks = store.actor_tlp_ranks()
        assert ranks[CRIMSON] == 4 and ranks[VERDANT] == 1
        assert sum(1 for rank in ranks.values() if rank == 0) > 800  # the MISP galaxy's actors


@pytest.fixture(scope="module")
def kb_incidents(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """The MISP galaxy and the reduced EuRepoC export (public: TLP:CLEAR), and a GREEN user."""
    incidents = shared_file("incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv")
    location = new_location(request, backend, tmp_path_factory.mktemp("ui-incidents"))
    with KnowledgeBase(location) as kb:
        kb.import_file("misp-galaxy")
        kb.import_file("eurepoc", incidents)
        kb.add_user("green", "reader", "green")
        yield location, {"green": kb.create_token("green").token}


def test_the_dashboard_shows_the_landscape_with_its_filters(
    kb_incidents: tuple[str, dict[str, str]],
) -> None:
    client = _logged_in(kb_incidents, "green")
    default = client.get("/")
    assert default.status_code == 200
    assert "the 12 months ending 31 March 2025 · n = 107 incidents" in default.text
    assert "Marking: <strong>TLP:CLEAR</strong>" in default.text
    assert default.text.count("<svg") == 4  # nexus shares, trend, sectors, regions
    assert re.search(r"China</th><td class=\"num\">29</td>", default.text)
    filtered = client.get(
        "/", params={"window": "2023-01-01..2023-12-31", "sector": "government"}
    )
    assert "1 January 2023 to 31 December 2023 · n = 29 incidents" in filtered.text
    assert 'name="sector" value="government"' in filtered.text
    regional = client.get(
        "/", params=[("window", "2023-01-01..2023-12-31"), ("actor_category", "state"),
                     ("victim_region", "europe")],
    )
    assert "n = 11 incidents" in regional.text
    assert 'id="cat-state" name="actor_category" value="state" checked' in regional.text
    bad = client.get("/", params={"sector": "nonsense", "months": "12"})
    assert bad.status_code == 400 and "unknown sector &#39;nonsense&#39;" in bad.text
    months = client.get("/", params={"months": "twelve"})
    assert months.status_code == 400
    assert "months: expected a whole number, got &#39;twelve&#39;" in months.text


def test_a_session_ends_when_it_expires_or_its_user_is_revoked(
    kb_ui: tuple[str, dict[str, str]],
) -> None:
    location = kb_ui[0]
    client = _logged_in(kb_ui, "leaver")
    assert client.get("/search").status_code == 200
    signer = client.app.state.ui_signer  # type: ignore[attr-defined]
    session = signer.loads(client.cookies[COOKIE])
    valid = client.cookies[COOKIE]
    client.cookies.set(COOKIE, signer.dumps({**session, "e": int(time.time()) - 1}))
    assert client.get("/search", follow_redirects=False).status_code == 303
    client.cookies.set(COOKIE, valid)
    with KnowledgeBase(location) as kb:
        kb.revoke_user("leaver")
    assert client.get("/search", follow_redirects=False).status_code == 303


def test_the_cookie_is_secure_over_https(kb_ui: tuple[str, dict[str, str]]) -> None:
    location, tokens = kb_ui
    client = TestClient(create_app(location), base_url="https://testserver")
    csrf = _csrf(client.get("/login").text)
    answer = client.post(
        "/login", data={"csrf": csrf, "username": "green", "token": tokens["green"]},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and "; Secure" in answer.headers["set-cookie"]


@given(st.text(max_size=30))
def test_after_login_only_paths_on_this_server(value: str) -> None:
    target = safe_next(value)
    assert target.startswith("/") and not target.startswith("//") and "\\" not in target
    assert target in (value, "/")


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=6))
def test_search_matches_any_text_literally(
    kb_ui: tuple[str, dict[str, str]], text: str
) -> None:
    """Whatever is typed (% and _ included) matches as a substring in any case, never as a
    pattern, on both backends."""
    with KnowledgeBase(kb_ui[0], read_only=True) as kb:
        names = [o.get("name") or "" for o in kb.store.iter_objects(["malware", "tool"])]
        found = kb.store.search_objects(text, ["malware", "tool"], 4, 10_000)
    expected = sorted(n for n in names if text.lower() in n.lower())
    assert sorted(name for _, _, name in found) == expected
