"""The web UI in a real browser: Debian's Chromium driven by Playwright against the app on a real
uvicorn (tests/http_server.py), on a knowledge base of ATT&CK, the MISP galaxy and the reduced
EuRepoC export. Each flow saves a full-page screenshot under test-artifacts/screenshots/ and
asserts what is visible: login (also by keyboard alone), the dashboard, an actor page, search,
and upload → review → store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT, shared_file
from http_server import serving
from threatscope import KnowledgeBase
from threatscope.server import create_app

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian's Chromium is not installed (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, analyst's token) of a served knowledge base."""
    attack = shared_file("attack/enterprise-attack-18.1.json")
    incidents = shared_file("incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv")
    location = str(tmp_path_factory.mktemp("ui-browser") / "kb.db")
    with KnowledgeBase(location) as kb:
        kb.import_file("attack", attack)
        kb.import_file("misp-galaxy")
        kb.import_file("eurepoc", incidents)
        kb.add_user("ana", "analyst", "red")
        token = kb.create_token("ana").token
    with serving(create_app(location)) as url:
        yield url, token


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()


def _shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _log_in(page: object, site: tuple[str, str], next_path: str = "/") -> None:
    url, token = site
    page.goto(f"{url}{next_path}")  # type: ignore[attr-defined]
    page.get_by_label("User name").fill("ana")  # type: ignore[attr-defined]
    page.get_by_label("API token").fill(token)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{url}{next_path}")  # type: ignore[attr-defined]


def test_login_then_the_dashboard(page, site: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    url, token = site
    page.goto(url)
    assert page.url == f"{url}/login?next=/"
    page.get_by_label("User name").fill("ana")
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong user name or token."
    _shot(page, "login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("State-linked")
    assert page.get_by_text("n = 107 incidents").is_visible()
    assert page.locator("figure.chart svg").count() == 4
    assert page.get_by_text("ana · analyst · cleared for TLP:RED").is_visible()
    _shot(page, "dashboard")
    page.get_by_role("textbox", name="Window (START..END)").fill("2023-01-01..2023-12-31")
    page.get_by_role("textbox", name="Victim sector").fill("government")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**sector=government**")
    assert page.get_by_text("n = 29 incidents").is_visible()


def test_keyboard_only_login(page, site: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    url, token = site
    page.goto(f"{url}/login")
    # The user name field has the focus on arrival; Tab moves on, Enter submits.
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type("ana")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/")
    assert page.get_by_role("navigation", name="Main").is_visible()
    # The skip link is the first stop on every page.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_an_actor_page(page, site: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    _log_in(page, site, "/actors/APT28")
    assert page.get_by_role("heading", level=1).inner_text() == "APT28"
    assert page.get_by_role("heading", name="Credential Access").is_visible()
    techniques = page.get_by_role("heading", name="Techniques (")
    assert techniques.inner_text().startswith("Techniques (")
    assert page.get_by_role("row", name="Fancy Bear attack, misp-galaxy").is_visible()
    assert page.get_by_role("button", name="Split APT28 (misp-galaxy) out of APT28").is_visible()
    assert page.get_by_text("Mimikatz").first.is_visible()
    _shot(page, "actor")


def test_search(page, site: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    url, _ = site
    _log_in(page, site, "/search")
    page.get_by_label("Actors, malware, tools, CVEs or IOCs").fill("lazarus")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/search?q=lazarus")
    assert page.get_by_role("link", name="Lazarus Group").is_visible()
    _shot(page, "search")
    page.get_by_role("link", name="Lazarus Group").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Lazarus Group"


def test_upload_review_store(page, site: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    _log_in(page, site, "/upload")
    page.get_by_label("Report text").fill(
        "APT28 used Mimikatz and X-Agent against ministries in Germany. They exploited "
        "CVE-2023-23397 (T1566.001); C2 at evil-update.com and badhost.net."
    )
    page.get_by_role("button", name="Extract for review").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Review: pasted.txt"
    assert page.get_by_role("group", name="Suggested actors (1)").is_visible()
    assert page.get_by_label("Drop APT28").is_visible()
    page.get_by_label("Drop badhost.net").check()
    _shot(page, "review")
    page.get_by_role("button", name="Store").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Stored: pasted.txt"
    assert "objects in the report's bundle" in page.get_by_role("status").inner_text()
    _shot(page, "stored")
