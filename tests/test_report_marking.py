"""What a report says about who may read it and where its data comes from: the TLP 2.0 marking
on every page (HTML and PDF, `--tlp`), the sources with citation and licence, and what the
sources select. On a knowledge base of the real public feeds plus a table import."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from typer.testing import CliRunner, Result

from conftest import shared_file
from threatscope.cli import app
from threatscope.errors import ConfigError
from threatscope.ingest import load_source, run_import, write_objects
from threatscope.landscape.compute import landscape
from threatscope.landscape.selection import Filters
from threatscope.report.html import render_html, write_report
from threatscope.report.marking import LEVELS, choose_marking, parse_tlp, report_marking
from threatscope.report.pdf import find_chromium
from threatscope.report.provenance import source_credits
from threatscope.sources import get_source
from threatscope.store import open_store

FIXTURES = Path(__file__).parent / "fixtures"
REDUCED = "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"
VALID = "clear, green, amber, amber+strict, red"
RED_ID = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
TABLE_CITATION = "Fixture incident feed, Example CERT, https://cert.example/feed"
TABLE_LICENCE = "CC BY 4.0"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


@pytest.fixture(scope="module")
def public_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped public importers only: ATT&CK Enterprise, MISP galaxy, KEV, EuRepoC."""
    db = tmp_path_factory.mktemp("public") / "kb.db"
    with open_store(db) as store:
        run_import(store, "attack", shared_file("attack/enterprise-attack-18.1.json"))
        run_import(store, "misp-galaxy", shared_file("misp-galaxy/threat-actor.json"))
        run_import(store, "kev", shared_file("kev/known_exploited_vulnerabilities.json"))
        run_import(store, "eurepoc", shared_file(REDUCED))
    return db


def _with_table(public_db: Path, directory: Path, credits: str) -> Path:
    """A copy of the public knowledge base plus the fixture table, its mapping declaring
    `credits` (TOML lines for [columns])."""
    db = directory / "kb.db"
    shutil.copy(public_db, db)
    mapping = directory / "incidents.toml"
    text = (FIXTURES / "incidents.toml").read_text("utf-8")
    mapping.write_text(text.replace("[columns]\n", "[columns]\n" + credits, 1), "utf-8")
    path, objects = load_source("table", FIXTURES / "incidents.csv", mapping)
    with open_store(db) as store:
        write_objects(store, "table", path, objects)
    return db


@pytest.fixture(scope="module")
def table_db(public_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    credits = f'citation = "{TABLE_CITATION}"\nlicence = "{TABLE_LICENCE}"\n'
    return _with_table(public_db, tmp_path_factory.mktemp("table"), credits)


@pytest.fixture(scope="module")
def britain(public_db: Path) -> dict[str, Any]:
    """A small landscape (victims in the United Kingdom) that renders quickly."""
    with open_store(public_db, create=False) as store:
        return landscape(store, Filters(victim_country="GB"), ending="2026-03-31")


def _marking_of(html: str) -> list[str]:
    """The labels the banners (top and bottom) and the @page margin boxes carry."""
    banners = re.findall(r'<span class="tlp-label">([^<]+)</span>', html)
    boxes = re.findall(r'@(?:top-right|bottom-center) \{ content: "([^"]+)"', html)
    return banners + boxes


# -- the level -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["clear", "TLP:CLEAR", "Amber+Strict", " red "])
def test_tlp_levels_parse_in_any_spelling(text: str) -> None:
    assert parse_tlp(text).key == text.strip().lower().removeprefix("tlp:")


@pytest.mark.parametrize("text", ["white", "amber-strict", "", "TLP:"])
def test_unknown_tlp_level_is_refused_naming_the_valid_ones(text: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(VALID)):
        parse_tlp(text)


def test_tlp_labels_carry_firsts_colours_and_wording() -> None:
    assert [(t.label, t.colour) for t in LEVELS.values()] == [
        ("TLP:CLEAR", "#FFFFFF"),
        ("TLP:GREEN", "#33FF00"),
        ("TLP:AMBER", "#FFC000"),
        ("TLP:AMBER+STRICT", "#FFC000"),
        ("TLP:RED", "#FF2B2B"),
    ]
    assert LEVELS["clear"].definition.startswith("Recipients can spread this to the world")
    assert "within their community" in LEVELS["green"].definition
    assert "organization and its clients" in LEVELS["amber"].definition
    assert "organization only" in LEVELS["amber+strict"].definition
    assert LEVELS["red"].definition.startswith("For the eyes and ears of individual recipients")


def test_marking_rule() -> None:
    clear, amber, red = LEVELS["clear"], LEVELS["amber"], LEVELS["red"]
    assert choose_marking(None, {}, []) == clear
    assert choose_marking(None, {}, ["fixture-feed"]) == amber
    assert choose_marking(None, {"clear": 3, "red": 1}, []) == red
    # An explicit choice stands when nothing stricter is held, even over unmarked private data.
    assert choose_marking(clear, {"clear": 3}, ["fixture-feed"]) == clear
    assert choose_marking(red, {"green": 2}, []) == red
    with pytest.raises(ConfigError, match=r"holds 1 object\(s\) marked TLP:RED"):
        choose_marking(amber, {"red": 1}, [])


def test_public_sources_default_to_clear(public_db: Path) -> None:
    with open_store(public_db, create=False) as store:
        marking, credits = report_marking(store, None)
    assert marking.key == "clear"
    assert [c.name for c in credits] == ["attack", "eurepoc", "kev", "misp-galaxy"]
    assert all(c.public for c in credits)


def test_a_table_import_is_not_known_to_be_public(table_db: Path) -> None:
    with open_store(table_db, create=False) as store:
        marking, credits = report_marking(store, None)
        assert report_marking(store, LEVELS["green"])[0].key == "green"
    assert marking.key == "amber"
    assert [c.name for c in credits if not c.public] == ["fixture-feed"]


# -- the report file -----------------------------------------------------------------------------


def test_html_is_marked_top_and_bottom(britain: dict[str, Any]) -> None:
    html = render_html(britain)
    assert _marking_of(html) == ["TLP:CLEAR"] * 4
    marked = render_html(britain, marking=LEVELS["amber+strict"])
    assert _marking_of(marked) == ["TLP:AMBER+STRICT"] * 4
    assert marked.index('class="tlp tlp-top"') < marked.index("<h1>")
    assert marked.index('class="tlp tlp-bottom"') > marked.index("<footer>")
    assert "color: #FFC000" in marked
    assert str(escape(LEVELS["amber+strict"].definition)) in marked


def test_every_pdf_page_is_marked_at_top_and_bottom(
    britain: dict[str, Any], tmp_path: Path
) -> None:
    try:
        find_chromium()
    except ConfigError as error:
        pytest.skip(f"no headless browser: {error}")
    pdfium = pytest.importorskip("pypdfium2")
    path = tmp_path / "report.html"
    write_report(britain, path, pdf=True, marking=LEVELS["amber"])
    document = pdfium.PdfDocument(path.with_suffix(".pdf"))
    try:
        pages = [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()
    assert len(pages) >= 5
    for number, text in enumerate(pages, start=1):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # Top-right margin box first, bottom-centre one among the footer's texts.
        assert lines[0] == "TLP:AMBER", (number, lines[:3])
        assert text.count("TLP:AMBER") >= 2, number
        assert f"Page {number} of {len(pages)}" in text
    first = " ".join(pages[0].split())
    assert "need-to-know basis within their organization and its clients" in first


# -- the command ---------------------------------------------------------------------------------


def test_cli_report_defaults_to_clear_and_takes_tlp(public_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "clear.html"
    result = run(public_db, "report", "-o", str(out), "--victim-country", "GB")
    assert result.exit_code == 0, result.output
    assert _marking_of(out.read_text("utf-8")) == ["TLP:CLEAR"] * 4
    out = tmp_path / "green.html"
    result = run(public_db, "report", "-o", str(out), "--victim-country", "GB", "--tlp", "green")
    assert result.exit_code == 0, result.output
    assert _marking_of(out.read_text("utf-8")) == ["TLP:GREEN"] * 4


def test_cli_unknown_tlp_exits_2_and_writes_nothing(public_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run(public_db, "report", "-o", str(out), "--tlp", "white")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: --tlp 'white' is not a TLP 2.0 level; use one of: {VALID}"
    ]
    assert list(tmp_path.iterdir()) == []


def test_stricter_marked_data_is_refused_or_raises_the_default(
    public_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kb.db"
    shutil.copy(public_db, db)
    bundle = tmp_path / "red.json"
    bundle.write_text(
        """{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
        {"type": "marking-definition", "spec_version": "2.1", "id": "RED",
         "created": "2022-10-01T00:00:00.000Z", "name": "TLP:RED",
         "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
                        {"extension_type": "property-extension", "tlp_2_0": "red"}}},
        {"type": "indicator", "spec_version": "2.1",
         "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created": "2026-01-05T00:00:00.000Z", "modified": "2026-01-05T00:00:00.000Z",
         "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix",
         "valid_from": "2026-01-05T00:00:00Z", "object_marking_refs": ["RED"]}]}""".replace(
            "RED", RED_ID
        ),
        "utf-8",
    )
    assert run(db, "import", "stix", str(bundle)).exit_code == 0
    out = tmp_path / "report.html"
    refused = run(db, "report", "-o", str(out), "--tlp", "amber+strict")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        "error: the knowledge base holds 1 object(s) marked TLP:RED, stricter than --tlp "
        "amber+strict; pass --tlp red"
    ]
    assert not out.exists()
    raised = run(db, "report", "-o", str(out), "--victim-country", "GB")
    assert raised.exit_code == 0, raised.output
    assert _marking_of(out.read_text("utf-8")) == ["TLP:RED"] * 4


# -- sources -------------------------------------------------------------------------------------


def test_every_source_is_credited_with_citation_licence_and_edition(table_db: Path) -> None:
    with open_store(table_db, create=False) as store:
        credits = {c.name: c for c in source_credits(store)}
    assert list(credits) == ["attack", "eurepoc", "fixture-feed", "kev", "misp-galaxy"]
    for name in ("attack", "eurepoc", "kev", "misp-galaxy"):
        source = get_source(name)
        assert source.citation and source.licence and source.public
        assert (credits[name].citation, credits[name].licence) == (source.citation, source.licence)
    assert credits["attack"].citation.startswith("MITRE ATT&CK®, The MITRE Corporation")
    assert "Terms of Use" in credits["attack"].licence
    assert credits["kev"].licence.startswith("CC0")
    assert credits["misp-galaxy"].licence.startswith("CC0 1.0 or BSD 2-Clause")
    assert credits["attack"].edition == "Enterprise v18.1"
    assert credits["attack"].file == "enterprise-attack-18.1.json"
    assert credits["kev"].edition == "catalogue released 2025-08-25"
    assert credits["misp-galaxy"].edition == "cluster version 349"
    table = credits["fixture-feed"]
    assert (table.citation, table.licence, table.public) == (TABLE_CITATION, TABLE_LICENCE, False)
    assert table.file == "incidents.csv"


def test_table_without_declared_credits_says_so(
    public_db: Path, tmp_path: Path, britain: dict[str, Any]
) -> None:
    db = _with_table(public_db, tmp_path, "")
    with open_store(db, create=False) as store:
        credits = {c.name: c for c in source_credits(store)}
    assert (credits["fixture-feed"].citation, credits["fixture-feed"].licence) == (None, None)
    html = render_html(britain, credits=list(credits.values()))
    method = html[html.index('id="method"') :]
    assert re.search(
        r'data-source="fixture-feed"><b>fixture-feed</b> <span class="muted">\(not known to be '
        r'public\)</span>: not declared\.\s*<br><span class="muted">Licence:</span> not declared',
        method,
    )


def test_mapping_credits_must_be_strings(tmp_path: Path) -> None:
    mapping = tmp_path / "incidents.toml"
    text = (FIXTURES / "incidents.toml").read_text("utf-8")
    mapping.write_text(text.replace("[columns]\n", "[columns]\nlicence = 4\n", 1), "utf-8")
    result = run(
        tmp_path / "kb.db", "import", "table", str(FIXTURES / "incidents.csv"), "--mapping",
        str(mapping),
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {mapping}: [columns] licence must be a string, got 4"
    ]
    assert not (tmp_path / "kb.db").exists()


def test_report_lists_sources_and_what_they_select(
    table_db: Path, britain: dict[str, Any]
) -> None:
    with open_store(table_db, create=False) as store:
        marking, credits = report_marking(store, None)
    html = render_html(britain, marking=marking, credits=credits)
    method = html[html.index('id="method"') :]
    for credit in credits:
        assert f'data-source="{credit.name}"' in method
        assert str(escape(credit.citation)) in method and str(escape(credit.licence)) in method
    assert "edition: Enterprise v18.1" in method
    selection = get_source("eurepoc").selection
    assert selection and "publicly reported" in selection
    scope = html[html.index('id="scope-title"') : html.index('id="nexus"')]
    for part in (scope, method):
        assert "These figures count publicly reported incidents only" in part
        assert str(escape(selection)) in part
