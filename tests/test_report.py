"""The HTML and PDF threat report, rendered from a real store built from the reduced EuRepoC export
and checked as a reader would meet it: the text, the inline charts, and the page in a real
headless Chromium (console clean, charts drawn, screenshot not blank) and its printed PDF."""

from __future__ import annotations

import copy
import io
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from conftest import new_location, shared_file
from threatscope.errors import ConfigError, ExternalToolError
from threatscope.ingest import run_import
from threatscope.landscape.compute import landscape
from threatscope.landscape.selection import Filters
from threatscope.report.html import render_html, write_report
from threatscope.report.pdf import find_chromium, html_to_pdf
from threatscope.store import open_store

REDUCED = "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"
CHARTS = ("nexus-shares", "trend", "sector-heatmap", "regions")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def report_db(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    db = new_location(request, backend, tmp_path_factory.mktemp("report"))
    store = open_store(db)
    try:
        run_import(store, "eurepoc", shared_file(REDUCED))
    finally:
        store.close()
    return db


def _landscape(db: Path | str, ending: str | None = None) -> dict[str, Any]:
    store = open_store(db, create=False)
    try:
        return landscape(store, Filters(), window=None, ending=ending, months=12)
    finally:
        store.close()


@pytest.fixture(scope="module")
def result(report_db: str) -> dict[str, Any]:
    figures = _landscape(report_db, ending="2026-03-31")
    assert figures["incidents"] > 20 and len(figures["by_nexus"]) >= 4, "fixture too thin"
    return figures


@pytest.fixture(scope="module")
def empty(report_db: str) -> dict[str, Any]:
    """A window before any incident: every section empty, and quick to render (no charts)."""
    figures = _landscape(report_db, ending="1990-03-31")
    assert figures["incidents"] == 0
    return figures


@pytest.fixture(scope="module")
def html(result: dict[str, Any]) -> str:
    return render_html(result)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory, result: dict[str, Any]) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    assert write_report(result, path) == [path]
    return path


def _chromium() -> str:
    try:
        return find_chromium()
    except ConfigError as error:
        pytest.skip(f"no headless browser: {error}")


def _tag_count(html: str, tag: str) -> int:
    return len(re.findall(rf"<{tag}[\s>]", html))


# -- the HTML text -------------------------------------------------------------------------------


def test_every_headline_sentence_is_in_the_report(result: dict[str, Any], html: str) -> None:
    assert result["headline"]
    for sentence in result["headline"]:
        assert str(escape(sentence)) in html


def test_charts_are_inline_svg_one_per_figure(html: str) -> None:
    assert _tag_count(html, "svg") >= 4
    for name in CHARTS:
        assert f'data-chart="{name}"' in html, name
    # Ids are prefixed per chart, so clip paths of one chart never apply to another.
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_report_loads_nothing_from_anywhere(html: str) -> None:
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html
    remote = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert remote == []
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html)


def test_nexus_table_has_a_row_per_nexus_with_its_figures(
    result: dict[str, Any], html: str
) -> None:
    rows = dict(re.findall(r'<tr data-nexus="([^"]+)">(.*?)</tr>', html, re.DOTALL))
    for row in result["by_nexus"]:
        cells = rows[row["nexus"]]
        assert f"{100 * row['share']:.1f}%" in cells
        low, high = row["ci95"]
        assert f"{100 * low:.1f}%–{100 * high:.1f}%" in cells
    change = {c["nexus"]: c for c in result["previous_window"]["changes"]}
    assert set(rows) == set(change)
    for nexus, name in (("CN", "China"), ("RU", "Russia"), ("IR", "Iran"), ("KP", "North Korea")):
        assert name in rows[nexus]
        assert f"{100 * change[nexus]['previous_share']:.1f}%" in rows[nexus]


def test_method_notes_name_sources_rules_and_gaps(result: dict[str, Any], html: str) -> None:
    method = html[html.index('id="method"') :]
    for source in result["sources"]:
        assert source["source"] in method
        assert source["first"] in method and source["last"] in method
    for phrase in ("Wilson", "Fisher exact", "binomial", "Holm's adjustment"):
        assert phrase in method
    assert "--count any" in method
    assert str(escape(result["unmapped"]["countries"][0]["value"])) in method
    lacking = result["coverage"]["lacking"]
    assert f'<td class="num">{lacking["victim_country"]}</td>' in method


def test_source_text_is_escaped(empty: dict[str, Any]) -> None:
    hostile = copy.deepcopy(empty)
    hostile["unmapped"]["countries"].insert(
        0, {"value": "<script>alert(1)</script>", "incidents": 9}
    )
    html = render_html(hostile)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cve_table_marks_kev_status(empty: dict[str, Any]) -> None:
    # The reduced export names no CVEs; the figures' shape is the landscape's.
    figures = copy.deepcopy(empty)
    figures["exploited_cves"]["overall"] = [
        {
            "cve": "CVE-2023-4966",
            "count": 3,
            "in_kev": True,
            "kev_date_added": "2023-10-18",
            "kev_product": "Citrix NetScaler ADC",
            "known_ransomware_use": "Known",
        },
        {
            "cve": "CVE-2024-0001",
            "count": 1,
            "in_kev": False,
            "kev_date_added": None,
            "kev_product": None,
            "known_ransomware_use": None,
        },
    ]
    html = render_html(figures)
    table = html[html.index('<table class="cves">') :]
    table = table[: table.index("</table>")]
    assert "CVE-2023-4966" in table and "2023-10-18" in table and "Citrix NetScaler ADC" in table
    assert table.count('class="badge kev"') == 1 and table.count('class="badge no"') == 1


def test_empty_window_renders_and_says_so(empty: dict[str, Any]) -> None:
    html = render_html(empty)
    assert "There were no incidents matching these filters" in html
    assert _tag_count(html, "svg") == 0
    assert html.count('class="empty"') >= 5


def test_write_report_replaces_atomically(empty: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.html"
    path.parent.mkdir()
    path.write_text("old")
    assert write_report(empty, path) == [path]
    assert path.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]


# -- PDF and browser -----------------------------------------------------------------------------


def test_missing_browser_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THREATSCOPE_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ConfigError, match="apt-get install chromium") as error:
        find_chromium()
    assert "\n" not in str(error.value)
    monkeypatch.setenv("THREATSCOPE_CHROMIUM", "/nonexistent/chrome")
    with pytest.raises(ConfigError, match="THREATSCOPE_CHROMIUM"):
        find_chromium()


def test_failing_browser_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, report_file: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'crashed: no display' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("THREATSCOPE_CHROMIUM", str(fake))
    with pytest.raises(ExternalToolError, match="crashed: no display") as error:
        html_to_pdf(report_file, tmp_path / "report.pdf")
    assert "\n" not in str(error.value)
    assert list(tmp_path.glob("report.pdf*")) == []


def test_pdf_has_pages(result: dict[str, Any], tmp_path: Path) -> None:
    _chromium()
    path = tmp_path / "report.html"
    written = write_report(result, path, pdf=True)
    pdf = path.with_suffix(".pdf")
    assert written == [path, pdf]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    # One section per page at least: summary, nexus, trend, victims, how, method.
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data)) >= 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf"]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_renders_in_a_real_browser(report_file: Path, tmp_path: Path) -> None:
    browser_path = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else 0,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report_file.as_uri(), wait_until="load")
            charts = page.locator("figure svg")
            assert charts.count() == len(CHARTS)
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box and box["width"] > 200 and box["height"] > 80, (i, box)
            # Drawn marks, not just empty frames: every chart has paths or rects inside.
            marks = page.eval_on_selector_all(
                "figure svg", "svgs => svgs.map(s => s.querySelectorAll('path, rect').length)"
            )
            assert all(n > 10 for n in marks), marks
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    data = shot.read_bytes()
    width, height = _png_size(data)
    assert width >= 800 and height > 2000
    # A blank page compresses to almost nothing; text, tables and four charts do not.
    assert len(data) > 150_000
    assert _distinct_colours(data) > 50


def _distinct_colours(png: bytes) -> int:
    try:
        from PIL import Image
    except ImportError:  # Pillow is optional here: the size check above still catches a blank page
        return 51
    with Image.open(io.BytesIO(png)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(colours or [])


def test_inferred_nexus_is_its_own_table_only_when_asked(
    report_db: str, result: dict[str, Any], html: str
) -> None:
    assert "Unattributed incidents, inferred nexus" not in html
    with open_store(report_db) as store:
        run_import(store, "misp-galaxy")  # victimology priors for the inference
        inferred = landscape(store, infer_nexus_with=store)
    page = render_html(inferred)
    assert "Unattributed incidents, inferred nexus" in page
    count = inferred["inferred"]["incidents"]
    assert f"{count} incidents in the window had no stated nexus" in page
    top = inferred["inferred"]["expected_by_nexus"][0]
    assert f"{top['expected']:.1f}" in page
