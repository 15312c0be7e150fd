"""The sector `import reports` learns from EuRepoC's training half: it beats the majority
baseline on the test half it never saw, scores as scikit-learn does, is cached, and is absent
(keywords only) without the shared data."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import shared_file
from threatscope.cli import app
from threatscope.extract.entities import build_gazetteer
from threatscope.sources.eurepoc import load_eurepoc
from threatscope.sources.report_incidents import SECTOR_LEARNT_MAX, report_incident
from threatscope.sources.report_sectors import (
    EUREPOC_GLOBAL,
    SectorModel,
    default_sector_model,
    fit,
    is_training_incident,
    training_examples,
)
from threatscope.taxonomy import sectors

# No sector word of the taxonomy in it: only the learnt model can give it a sector.
NO_SECTOR_WORD = (
    "Hackers leaked thousands of internal e-mails of the president's re-election campaign staff "
    "ahead of the vote.\n"
)


def _roots(sector_id: str) -> set[str]:
    taxonomy = sectors()
    return {s for s in taxonomy.ancestors(sector_id) if taxonomy.by_id[s].parent is None}


@pytest.fixture(scope="module")
def model() -> SectorModel:
    shared_file(EUREPOC_GLOBAL)
    found = default_sector_model()
    assert found is not None
    return found


def test_sector_category_beats_the_majority_on_the_test_half(model: SectorModel) -> None:
    """EuRepoC 1.1's test half (odd CRC-32 of ID), 809 incidents with a coded sector: the
    keyword rules alone got 407 categories right (0.503), the majority "government" 441
    (0.545); with the model 558 (0.690) and 266 exact sectors (rules alone: 168)."""
    gazetteer = build_gazetteer(None)
    cases = [
        incident
        for incident in load_eurepoc(shared_file(EUREPOC_GLOBAL))
        if incident["type"] == "incident"
        and incident.get("description")
        and not is_training_incident(incident["external_references"][0]["external_id"])
    ]
    right = exact = majority = counted = 0
    for incident in cases:
        coded = {s for v in incident["x_threatscope_victims"] for s in v["sectors"]} - {"other"}
        if not coded:
            continue
        counted += 1
        coded_roots = set().union(*map(_roots, coded))
        read = report_incident(incident["description"], "x", "", gazetteer, None,
                               sector_model=model)  # fmt: skip
        assert read.sectors, incident["id"]  # every description with a word gets a sector
        right += bool(_roots(read.sectors[0].value) & coded_roots)
        exact += read.sectors[0].value in coded
        majority += "government" in coded_roots
    assert (counted, right, exact, majority) == (809, 558, 266, 441)


def test_model_learns_only_from_the_training_half(model: SectorModel) -> None:
    texts, labels = training_examples(shared_file(EUREPOC_GLOBAL))
    assert model.examples == len(texts) == len(labels) == 797
    assert set(model.sectors) == set(labels)
    assert "government-national" in model.sectors


_WORDS = ["hackers", "ministry", "bank", "stole", "data", "election", "army", "news", "the"]
_TEXTS = [
    "hackers stole data from the ministry",
    "the ministry was hit by hackers",
    "the bank lost data to hackers",
    "hackers drained the bank",
    "the election commission was hacked",
    "election data leaked by hackers",
    "the army network was breached",
    "army data stole by hackers",
]
_LABELS = ["gov", "gov", "bank", "bank", "vote", "vote", "army", "army"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_WORDS) | st.text(max_size=12), max_size=30))
def test_scores_as_scikit_learn_does(words: list[str]) -> None:
    vectorizer, classifier = fit(_TEXTS, _LABELS)
    model = SectorModel.from_fitted(vectorizer, classifier, len(_TEXTS))
    text = " ".join(words)
    ours = model.probabilities(text)
    if vectorizer.transform([text]).nnz == 0:
        assert not ours.any()  # no known word: no guess, not the intercepts' favourite
        assert model.guess(text, [text]) is None
    else:
        np.testing.assert_allclose(ours, classifier.predict_proba(vectorizer.transform([text]))[0])


def test_guess_quotes_the_sentence_that_weighs_most() -> None:
    vectorizer, classifier = fit(_TEXTS, _LABELS)
    model = SectorModel.from_fitted(vectorizer, classifier, len(_TEXTS))
    written = ["It happened on Monday.", "The bank was drained."]
    guess = model.guess(" ".join(written), written)
    assert guess is not None
    assert (guess.sector, guess.sentence) == ("bank", "The bank was drained.")


def test_cached_model_is_reused_and_a_damaged_cache_rebuilt(model: SectorModel) -> None:
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "threatscope" / "report-sectors.pickle"
    assert cache.is_file()
    again = default_sector_model()
    assert again is not None and again.sectors == model.sectors
    cache.write_bytes(b"not a pickle")
    rebuilt = default_sector_model()
    assert rebuilt is not None and rebuilt.sectors == model.sectors
    np.testing.assert_allclose(rebuilt.coef, model.coef)
    assert cache.read_bytes() != b"not a pickle"


def test_no_shared_data_no_model(tmp_path: Path) -> None:
    assert default_sector_model(tmp_path) is None


def _import(tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("THREATSCOPE_DATA", str(data))
    report = tmp_path / "leak.txt"
    report.write_text(NO_SECTOR_WORD, encoding="utf-8")
    db = tmp_path / "kb.db"
    result = CliRunner().invoke(app, ["--db", str(db), "import", "reports", str(report)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as conn:
        (row,) = conn.execute("SELECT json FROM objects WHERE type = 'incident'").fetchall()
    return orjson.loads(row[0])


def test_import_reports_gives_a_learnt_sector_with_its_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = shared_file(EUREPOC_GLOBAL).parents[2]
    incident = _import(tmp_path, data, monkeypatch)
    (finding,) = incident["x_threatscope_evidence"]["sectors"]
    assert finding["value"] == "elections"
    assert 0 < finding["confidence"] <= SECTOR_LEARNT_MAX
    assert finding["sentence"] == " ".join(NO_SECTOR_WORD.split())
    assert [v["sectors"] for v in incident["x_threatscope_victims"]] == [["elections"]]


def test_without_shared_data_a_report_naming_no_sector_gets_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = _import(tmp_path, tmp_path / "no-shared-data", monkeypatch)
    assert incident["x_threatscope_evidence"]["sectors"] == []
