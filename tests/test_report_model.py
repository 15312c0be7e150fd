"""The report-level technique model: sentence SVM, out-of-fold report deciders, their CV.

End to end on a reduced slice of the real data, so it trains in seconds: ATT&CK Enterprise cut
to a dozen techniques (and the relationships between what is kept), the TRAM2 sentences labelled
with them, and ten AnnoCTR train reports, all copied into a temporary data directory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import shared_file
from threatscope.errors import ConfigError
from threatscope.extract.evaluate import evaluate_techniques
from threatscope.extract.report_decision import ScoredReport, candidate_features, fit_decider
from threatscope.extract.report_training import FOLDS, labelled_reports, report_folds
from threatscope.extract.techniques import (
    TechniqueModel,
    extract_techniques,
    load_model,
    save_model,
)
from threatscope.extract.training import build_training_set, train_model
from threatscope.ingest import run_import
from threatscope.store import Store, open_store

KEPT = {
    "T1027", "T1140", "T1059", "T1059.001", "T1059.003", "T1055", "T1105", "T1071",
    "T1071.001", "T1566", "T1566.001", "T1204", "T1204.002", "T1547", "T1547.001",
}  # fmt: skip
ANNOCTR_REPORTS = 10


def _attack_id(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("external_references") or ():
        if ref.get("source_name") == "mitre-attack":
            return ref.get("external_id")
    return None


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory laid out like the shared one, holding the reduced slice."""
    root = tmp_path_factory.mktemp("report-model-data")
    bundle = json.loads(shared_file("attack/enterprise-attack-18.1.json").read_text("utf-8"))
    objects = [
        o
        for o in bundle["objects"]
        if o["type"] not in ("attack-pattern", "relationship")
        or (o["type"] == "attack-pattern" and _attack_id(o) in KEPT)
    ]
    kept = {o["id"] for o in objects}
    objects += [
        o
        for o in bundle["objects"]
        if o["type"] == "relationship" and o["source_ref"] in kept and o["target_ref"] in kept
    ]
    (root / "attack").mkdir()
    (root / "attack" / "enterprise-attack-18.1.json").write_text(
        json.dumps({**bundle, "objects": objects}), "utf-8"
    )
    tram = json.loads(shared_file("text/tram2/single_label_train.json").read_text("utf-8"))
    (root / "text" / "tram2").mkdir(parents=True)
    (root / "text" / "tram2" / "single_label_train.json").write_text(
        json.dumps([row for row in tram if row.get("label") in KEPT]), "utf-8"
    )
    annoctr = shared_file("text/annoctr/train").parent
    for split, count in (("train", ANNOCTR_REPORTS), ("dev", 3)):
        target = root / "text" / "annoctr" / split
        target.mkdir(parents=True)
        for txt in sorted((annoctr / split).glob("*.txt"))[:count]:
            shutil.copy(txt, target / txt.name)
            shutil.copy(txt.with_name(txt.stem + ".links.jsonl"), target)
    return root


@pytest.fixture(scope="module")
def kb(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(tmp_path_factory.mktemp("report-model") / "kb.db")
    run_import(store, "attack", data / "attack" / "enterprise-attack-18.1.json")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def model(kb: Store, data: Path) -> TechniqueModel:
    return train_model(kb, data_dir=data, seed=0)


def test_reports_are_dealt_into_folds_per_source(kb: Store, data: Path) -> None:
    _, examples, docs = build_training_set(kb, data)
    reports = labelled_reports(examples, docs)
    folds = report_folds(reports)
    annoctr = sorted(r.group for r in reports if r.source == "annoctr")
    assert len(annoctr) == ANNOCTR_REPORTS
    assert [folds[g] for g in annoctr] == [i % FOLDS for i in range(ANNOCTR_REPORTS)]
    tram = sorted(r.group for r in reports if r.source == "tram2")
    # TRAM2's titles fall as the bench's tram2_cv_predictions deals them.
    assert {g for g in tram if folds[g] == 2} == set(tram[2::FOLDS])
    rebuilt = next(r for r in reports if r.source == "tram2")
    assert rebuilt.gold == {e.label for e in examples if e.group == rebuilt.group}


def test_report_model_has_a_decider_per_label_level(model: TechniqueModel) -> None:
    assert model.info["method"] == "report"
    # AnnoCTR labels parent techniques, TRAM2 sub-techniques as written.
    assert set(model.deciders) == {"exact", "parent"}
    assert model.deciders["parent"].reports == ANNOCTR_REPORTS
    assert 0.1 <= model.deciders["exact"].threshold < 0.8
    cv = model.info["cross_validation"]
    assert cv["annoctr"]["level"] == "parent" and cv["tram2"]["level"] == "exact"
    assert len(cv["annoctr"]["per_document"]) == ANNOCTR_REPORTS


def test_levels_and_explicit_ids(model: TechniqueModel) -> None:
    text = (
        "The loader runs T1059.001 and then decodes the Base64 payload with certutil "
        "before injecting it into explorer.exe."
    )
    both = {m.technique_id: m for m in extract_techniques(text, model)}
    assert both["T1059.001"].explicit and both["T1059"].explicit
    assert both["T1059.001"].confidence == 1.0
    exact = {m.technique_id for m in extract_techniques(text, model, level="exact")}
    parent = {m.technique_id for m in extract_techniques(text, model, level="parent")}
    assert "T1059.001" in exact and "T1059" not in exact
    assert "T1059" in parent and not any("." in i for i in parent)
    with pytest.raises(ConfigError, match="unknown technique level 'leaf'"):
        extract_techniques(text, model, level="leaf")


def test_evidence_is_the_sentence_that_scored_highest(model: TechniqueModel) -> None:
    text = (
        "The group registered new infrastructure in March. "
        "The malware decodes its Base64-encoded configuration with certutil -decode."
    )
    found = {m.technique_id: m for m in extract_techniques(text, model, level="exact")}
    assert "T1140" in found
    assert found["T1140"].sentences[0].text.startswith("The malware decodes")
    assert 0.0 < found["T1140"].confidence <= 1.0


def test_cv_figures_come_from_training_and_save_load_keeps_them(
    model: TechniqueModel, data: Path, tmp_path: Path
) -> None:
    again = load_model(save_model(model, tmp_path / "m.joblib"))
    for dataset, level in (("tram2-cv", "exact"), ("annoctr-train-cv", "parent")):
        result = evaluate_techniques(again, dataset, data_dir=data)
        assert result["level"] == level and result["folds"] == FOLDS
        assert result["views"]["exact"]["documents"] == len(result["per_document"])
    dev = evaluate_techniques(again, "annoctr-dev", data_dir=data)
    assert dev["label_level"] == "parent" and dev["documents"] == 3
    text = "Attackers sent spearphishing e-mails with malicious attachments."
    assert extract_techniques(text, again) == extract_techniques(text, model)


def test_feature_rows_pool_sub_techniques_for_parents() -> None:
    classes = np.array(["T1059", "T1059.001", "T1566", "none"])
    scores = np.array(
        [
            [0.2, 0.9, -1.0, -0.5],  # votes T1059.001
            [-0.9, 0.1, -0.8, 0.3],  # votes none
            [0.4, -0.2, -0.9, -0.3],  # votes T1059
        ],
        dtype=np.float32,
    )
    ids, rows, _ = candidate_features(scores, classes, "exact", {"T1059": 0.5})
    assert ids == ["T1059", "T1059.001"]  # T1566 never scores above the floor
    assert rows[:, 0].tolist() == pytest.approx([np.log(2), np.log(2)])  # one vote each
    assert rows[1, 2] == pytest.approx(0.7)  # best margin: 0.9 - 0.2
    parents, prow, pcols = candidate_features(scores, classes, "parent", {"T1059": 0.5})
    assert parents == ["T1059"]
    assert prow[0, 0] == pytest.approx(np.log(3))  # the family's two votes pooled
    assert sorted(pcols[0].tolist()) == [0, 1]
    assert prow[0, 5] == pytest.approx(np.log(0.5 + 1e-3)) and prow[0, 6] == 1.0


def test_decider_learns_that_repeated_evidence_counts() -> None:
    """Reports whose gold is exactly the techniques two or more sentences vote for."""
    rng = np.random.default_rng(0)
    classes = np.array([f"T{1000 + i}" for i in range(12)] + ["none"])
    reports = []
    for r in range(60):
        scores = rng.normal(-1.0, 0.3, size=(20, len(classes))).astype(np.float32)
        scores[:, -1] = 0.0
        gold = set()
        for j in rng.choice(12, size=4, replace=False):
            rows = rng.choice(20, size=int(rng.integers(1, 4)), replace=False)
            scores[rows, j] = 0.5
            if len(rows) >= 2:
                gold.add(str(classes[j]))
        reports.append(ScoredReport(f"r{r}", "synthetic", scores, frozenset(gold)))
    decider = fit_decider(reports[:40], classes, "exact")
    hits = [decider.predict(r.scores, classes) == set(r.gold) for r in reports[40:]]
    assert sum(hits) >= 18  # of 20 unseen reports


def test_eval_prints_the_plain_baseline_beside_the_model(
    kb: Store, model: TechniqueModel, data: Path, tmp_path: Path
) -> None:
    import orjson
    from typer.testing import CliRunner

    from threatscope.cli import app

    path = save_model(model, tmp_path / "m.joblib")
    command = ["--db", kb.location, "eval", "techniques", "--model", str(path), "--data", str(data)]
    result = CliRunner().invoke(app, [*command, "--dataset", "tram2-cv", "--baseline", "--json"])
    assert result.exit_code == 0, result.output
    compared = orjson.loads(result.stdout)["baseline"]
    reports = labelled_reports(*build_training_set(kb, data)[1:])
    tram = [r for r in reports if r.source == "tram2"]
    assert compared["documents"] == len(tram) and compared["label_level"] == "exact"
    row = compared["exact"]
    low, high = row["per_doc_f1_difference"]["low"], row["per_doc_f1_difference"]["high"]
    assert low <= row["shipped"]["per_doc_f1"] - row["baseline"]["per_doc_f1"] <= high
    text = CliRunner().invoke(app, [*command, "--dataset", "annoctr-dev", "--baseline"])
    assert text.exit_code == 0, text.output
    assert "plain TF-IDF + LinearSVC baseline, same documents" in text.stdout
    assert "  parent         model " in text.stdout


def test_two_classes_and_reports_that_teach_nothing() -> None:
    """One technique and "none" (a tiny knowledge base) still gives features; reports where no
    candidate was ever right give no decider rather than an error."""
    classes = np.array(["T1566", "none"])
    scores = np.array([[0.4, -0.4], [-0.7, 0.7]], dtype=np.float32)
    ids, rows, _ = candidate_features(scores, classes, "exact", {})
    assert ids == ["T1566"] and rows[0, 0] == pytest.approx(np.log(2))
    assert rows[0, 4] == pytest.approx(np.log(3))  # in the top three of both sentences
    wrong = [ScoredReport("r", "s", scores, frozenset({"T9999"}))]
    assert fit_decider(wrong, classes, "exact") is None


def test_a_two_class_sentence_classifier_scores_both_columns() -> None:
    from threatscope.extract.report_training import fit_sentence_classifier
    from threatscope.extract.training_data import Example

    phishing = ["spearphishing email with a malicious attachment", "phishing email lure sent"]
    other = ["the board met on tuesday", "quarterly revenue grew", "the weather was mild"]
    examples = [Example(t, "T1566", "g", "test") for t in phishing * 2]
    examples += [Example(t, "none", "g", "test") for t in other * 2]
    classifier = fit_sentence_classifier(examples)
    decisions = classifier.decisions(["a phishing email with an attachment", "revenue grew"])
    assert decisions.shape == (2, 2)
    assert [classifier.classes[j] for j in decisions.argmax(axis=1)] == ["T1566", "none"]
