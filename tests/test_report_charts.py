"""The report's title and the charts that misread on real, thin selections: quarters with no
incidents, a heat map with only two columns. Built from the reduced EuRepoC export."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import shared_file
from threatscope.errors import ConfigError
from threatscope.ingest import run_import
from threatscope.landscape.compute import landscape
from threatscope.landscape.selection import Filters
from threatscope.report import charts
from threatscope.report.html import render_html, write_report
from threatscope.report.pdf import find_chromium
from threatscope.report.view import report_title
from threatscope.store import open_store

REDUCED = "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"
ENDING = "2026-03-31"


@pytest.fixture(scope="module")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("charts") / "kb.db"
    with open_store(db) as store:
        run_import(store, "eurepoc", shared_file(REDUCED))
    return db


def _landscape(db: Path, filters: Filters) -> dict[str, Any]:
    with open_store(db, create=False) as store:
        return landscape(store, filters, ending=ENDING)


@pytest.fixture(scope="module")
def britain(report_db: Path) -> dict[str, Any]:
    """Victims in the United Kingdom: two incidents, all China-nexus, and a trend with empty
    quarters (2024-Q3 and the last three)."""
    return _landscape(report_db, Filters(victim_country="GB"))


# -- title ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("categories", "title"),
    [
        (("state", "state-affiliated"), "State-linked cyber threat landscape"),
        (("state",), "State-actor cyber threat landscape"),
        (("state-affiliated",), "State-affiliated cyber threat landscape"),
        (("criminal",), "Criminal cyber threat landscape"),
        (("hacktivist",), "Hacktivist cyber threat landscape"),
        (("unknown",), "Uncategorised-actor cyber threat landscape"),
        (("hacktivist", "criminal"), "Criminal and hacktivist cyber threat landscape"),
        (
            ("criminal", "state-affiliated", "state"),
            "State-linked and criminal cyber threat landscape",
        ),
        (
            ("state", "criminal", "unknown"),
            "State-actor, criminal and uncategorised-actor cyber threat landscape",
        ),
        (
            ("state", "state-affiliated", "criminal", "hacktivist", "unknown"),
            "Cyber threat landscape: all actor categories",
        ),
    ],
)
def test_title_names_the_actor_categories(categories: tuple[str, ...], title: str) -> None:
    assert report_title(categories) == title


@pytest.mark.parametrize(
    ("category", "title"),
    [
        ("criminal", "Criminal cyber threat landscape"),
        ("state", "State-actor cyber threat landscape"),
    ],
)
def test_report_heading_follows_the_selection(report_db: Path, category: str, title: str) -> None:
    result = _landscape(report_db, Filters(victim_country="GB", actor_categories=(category,)))
    html = render_html(result)
    assert re.findall(r"<h1>(.*?)</h1>", html) == [title]
    assert f"<title>{title} – " in html
    assert "State-linked" not in html


# -- trend ---------------------------------------------------------------------------------------


def test_trend_keeps_empty_quarters_on_an_integer_axis(britain: dict[str, Any]) -> None:
    quarters = [q["quarter"] for q in britain["trend"]]
    counts = [q["incidents"] for q in britain["trend"]]
    assert counts == [1, 0, 3, 1, 2, 0, 0, 0]
    chart = charts.trend_chart(britain)
    assert chart is not None
    encoding = chart.to_dict()["encoding"]
    assert encoding["x"]["scale"]["domain"] == quarters
    axis = encoding["y"]["axis"]
    assert axis["format"] == "d" and axis["tickMinStep"] == 1
    svg = charts.trend_svg(britain)
    assert svg is not None
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", svg)
    # All eight quarters on the axis, the four empty ones included, in order.
    assert [label for label in labels if re.fullmatch(r"\d{4}-Q\d", label)] == quarters
    ticks = [label for label in labels if re.fullmatch(r"[0-9.,]+", label)]
    assert ticks == ["0", "1", "2", "3"]


# -- heat map ------------------------------------------------------------------------------------


def test_heat_map_with_two_columns_keeps_its_drawn_size(
    britain: dict[str, Any], tmp_path: Path
) -> None:
    try:
        browser_path = find_chromium()
    except ConfigError as error:
        pytest.skip(f"no headless browser: {error}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    svg = charts.sector_heatmap_svg(britain)
    assert svg is not None
    columns = set(re.findall(r'aria-label="nexus: ([^|]+)\|', svg))
    assert columns == {"All", "China"}
    drawn = {k: float(v) for k, v in re.findall(r'\s(width|height)="([0-9.]+)"', svg)[:2]}
    path = tmp_path / "report.html"
    write_report(britain, path)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(path.as_uri(), wait_until="load")
            box = page.locator('svg[data-chart="sector-heatmap"]').bounding_box()
            column = page.locator("#targets").bounding_box()
        finally:
            browser.close()
    assert box is not None and column is not None
    # Drawn size, not stretched to the column (which blew 11 px labels up to ~21 px).
    assert box["width"] == pytest.approx(drawn["width"], abs=1)
    assert box["height"] == pytest.approx(drawn["height"], abs=1)
    assert box["width"] < 0.7 * column["width"]
