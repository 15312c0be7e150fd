"""The ATT&CK technique classifier on a real knowledge base built from ATT&CK Enterprise.

One store and one ATT&CK-only model per module: training is the slow part (seconds), and every
test here reads them without changing them.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import data_dir, shared_file
from threatscope.errors import ConfigError
from threatscope.extract.evaluate import evaluate_techniques
from threatscope.extract.techniques import (
    TechniqueModel,
    extract_techniques,
    load_model,
    save_model,
)
from threatscope.extract.techniques_text import explicit_ids, split_sentences
from threatscope.extract.training import DEFAULT_THRESHOLDS, train_model
from threatscope.extract.training_data import attack_id_from_url, clean_attack_text
from threatscope.ingest import run_import
from threatscope.store import Store, open_store

# The ablation's threshold chosen by 5-fold CV on AnnoCTR train (train_model(add_parents=False)).
BASELINE_CV_THRESHOLD = 0.45
SPEARPHISHING = (
    "The attackers sent spearphishing emails with a malicious Word document attached to staff "
    "of the ministry. The email lured recipients into opening the attachment and enabling "
    "macros."
)
RANSOMWARE = (
    "The ransomware encrypts files on local drives and network shares with AES and appends the "
    ".locked extension, then drops a ransom note demanding payment in bitcoin for decryption."
)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = shared_file("attack/enterprise-attack-18.1.json")
    store = open_store(tmp_path_factory.mktemp("techniques") / "kb.db")
    run_import(store, "attack", path)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def attack_model(kb: Store) -> TechniqueModel:
    """Trained from ATT&CK alone: what a user without the shared corpora gets."""
    return train_model(kb, data_dir=None, seed=0)


def _ids(text: str, model: TechniqueModel) -> list[str]:
    return [m.technique_id for m in extract_techniques(text, model)]


def test_explicit_ids_are_found_and_validated() -> None:
    known = {"T1059", "T1059.001", "T1566"}
    text = (
        "Used T1059.001 and T1566; see attack.mitre.org/techniques/T1059/001, not T9999 or XT1566."
    )
    found = [(text[s:e], attack_id) for s, e, attack_id in explicit_ids(text, known)]
    assert found == [("T1059.001", "T1059.001"), ("T1566", "T1566"), ("T1059/001", "T1059.001")]
    # An unknown sub-technique falls back to its known parent.
    assert [a for _, _, a in explicit_ids("T1566.999 was seen", known)] == ["T1566"]


def test_explicit_mentions_have_confidence_one(attack_model: TechniqueModel) -> None:
    text = "The operators relied on T1486 and on T1059.001 throughout."
    by_id = {m.technique_id: m for m in extract_techniques(text, attack_model)}
    for attack_id in ("T1486", "T1059.001"):
        assert by_id[attack_id].confidence == 1.0
        assert by_id[attack_id].explicit
        evidence = by_id[attack_id].sentences[0]
        assert text[evidence.start : evidence.end] == attack_id
    assert by_id["T1059.001"].name == "PowerShell"


def test_sentences_keep_offsets() -> None:
    text = "First sentence here.  Second one, e.g. with an abbreviation!\n\n- a list item"
    spans = list(split_sentences(text))
    assert [s for _, _, s in spans] == [
        "First sentence here.",
        "Second one, e.g. with an abbreviation!",
        "- a list item",
    ]
    assert all(text[a:b] == s for a, b, s in spans)


def test_attack_markup_is_cleaned() -> None:
    raw = "[APT28](https://attack.mitre.org/groups/G0007) used <code>cmd</code>.(Citation: X Y)"
    assert clean_attack_text(raw) == "APT28 used cmd."
    assert attack_id_from_url("https://attack.mitre.org/techniques/T1059/001") == "T1059.001"
    assert attack_id_from_url("https://attack.mitre.org/techniques/T1566") == "T1566"
    assert attack_id_from_url("https://attack.mitre.org/tactics/TA0001") is None


def test_model_covers_every_technique_with_procedure_examples(
    attack_model: TechniqueModel,
) -> None:
    # Not a fixed list: hundreds of techniques and sub-techniques.
    assert len(attack_model.classes) > 600
    assert {"T1566.001", "T1486", "T1059.001", "T1003.001"} <= set(attack_model.classes)


def test_attack_only_model_finds_obvious_techniques(attack_model: TechniqueModel) -> None:
    phishing = _ids(SPEARPHISHING, attack_model)
    assert {"T1566", "T1566.001"} & set(phishing[:3]), phishing
    ransomware = extract_techniques(RANSOMWARE, attack_model)
    assert ransomware and ransomware[0].technique_id == "T1486", ransomware
    top = ransomware[0]
    assert 0.5 <= top.confidence <= 1.0
    assert not top.explicit
    assert RANSOMWARE[top.sentences[0].start : top.sentences[0].end].startswith("The ransomware")


def test_benign_text_yields_nothing(attack_model: TechniqueModel) -> None:
    assert extract_techniques("The quarterly board meeting is on Tuesday.", attack_model) == []
    assert extract_techniques("", attack_model) == []


def test_training_is_deterministic(kb: Store, attack_model: TechniqueModel) -> None:
    again = train_model(kb, data_dir=None, seed=0)
    sentences = [SPEARPHISHING, RANSOMWARE, "Mimikatz dumped credentials from LSASS memory."]
    assert np.array_equal(again.sentence_scores(sentences), attack_model.sentence_scores(sentences))
    assert again.threshold == attack_model.threshold


def test_save_load_round_trip(tmp_path: Path, attack_model: TechniqueModel) -> None:
    path = save_model(attack_model, tmp_path / "m" / "techniques.joblib")
    started = time.perf_counter()
    loaded = load_model(path)
    assert time.perf_counter() - started < 2.0
    for text in (SPEARPHISHING, RANSOMWARE):
        assert [m.to_dict() for m in extract_techniques(text, loaded)] == [
            m.to_dict() for m in extract_techniques(text, attack_model)
        ]


def test_missing_or_foreign_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="threatscope train"):
        load_model(tmp_path / "absent.joblib")
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"not a model")
    with pytest.raises(ConfigError):
        load_model(bad)


def test_long_report_is_fast(attack_model: TechniqueModel) -> None:
    # ~10k words, the size of a twenty-page report.
    report = " ".join([SPEARPHISHING, RANSOMWARE, "The board met on Tuesday to talk."] * 180)
    assert len(report.split()) > 9000
    started = time.perf_counter()
    extract_techniques(report, attack_model)
    assert time.perf_counter() - started < 2.0


def test_parent_rollup_helps_the_linear_model_on_annoctr_dev(kb: Store) -> None:
    """The linear model (what `train` falls back to without labelled reports) with and without
    the parent roll-up, both at the thresholds 5-fold CV on AnnoCTR train chose; AnnoCTR dev is
    only scored. (The shipped report-level model against the plain TF-IDF + LinearSVC baseline
    is bench/bench_techniques.py, with bootstrap intervals.) One fit serves both, since they
    differ only in aggregation."""
    root = data_dir()
    if not (root / "text" / "annoctr" / "dev").is_dir():
        pytest.skip(f"AnnoCTR is absent under {root} (set THREATSCOPE_DATA)")
    chosen = train_model(
        kb, data_dir=root, seed=0, method="linear", threshold=DEFAULT_THRESHOLDS["linear"]
    )
    baseline = copy.copy(chosen)
    baseline.add_parents, baseline.threshold = False, BASELINE_CV_THRESHOLD
    ours = evaluate_techniques(chosen, "annoctr-dev", data_dir=root)
    theirs = evaluate_techniques(baseline, "annoctr-dev", data_dir=root)
    assert ours["documents"] == theirs["documents"] == 16
    # Measured: micro F1 0.385 vs 0.339; macro F1 0.332 vs 0.340 (the roll-up helps the reports
    # with many techniques, which micro weighs more), so macro is only held to "no worse than".
    assert ours["micro"]["f1"] > theirs["micro"]["f1"] + 0.02, (ours["micro"], theirs["micro"])
    assert ours["macro"]["f1"] > theirs["macro"]["f1"] - 0.03, (ours["macro"], theirs["macro"])


def test_extract_and_eval_commands_use_a_saved_model(
    kb: Store, attack_model: TechniqueModel, tmp_path: Path
) -> None:
    import orjson
    from typer.testing import CliRunner

    from threatscope.cli import app

    model_path = save_model(attack_model, tmp_path / "model.joblib")
    report = tmp_path / "report.txt"
    report.write_text(SPEARPHISHING + "\n\n" + RANSOMWARE, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        app, ["--db", kb.location, "extract", str(report), "--model", str(model_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert summary["technique_model"].startswith("trained model")
    assert summary["prose_analysed"] is True
    found = {t["id"] for t in summary["techniques"]}
    assert found & {"T1566", "T1566.001"} and "T1486" in found, found
    # attribute --text reads the report through the same model.
    command = ["--db", kb.location, "attribute", "--text", str(report), "--json"]
    attributed = runner.invoke(app, [*command, "--model", str(model_path)])
    assert attributed.exit_code == 0, attributed.output
    used = orjson.loads(attributed.stdout)["evidence_used"]["techniques"]
    assert set(used) == found | {t.split(".")[0] for t in found}, used
    evaluation = runner.invoke(
        app, ["eval", "techniques", "--model", str(model_path), "--data", str(tmp_path)]
    )
    assert evaluation.exit_code == 2
    assert "no AnnoCTR dev split" in evaluation.stderr
    missing = runner.invoke(app, ["eval", "techniques", "--model", str(tmp_path / "nope")])
    assert missing.exit_code == 2


def test_training_examples_do_not_depend_on_other_sources(
    kb: Store, tmp_path: Path, misp_path: Path
) -> None:
    """A knowledge base with the MISP galaxy besides ATT&CK trains on the same examples: MISP's
    actor descriptions ("uses spearphishing and PowerShell") are not "no technique" prose. They
    were, and a README-following user's model scored micro F1 0.302 on AnnoCTR dev, not 0.385."""
    from threatscope.extract.training_data import attack_examples, load_catalog

    both = open_store(tmp_path / "both.db")
    try:
        run_import(both, "attack", shared_file("attack/enterprise-attack-18.1.json"))
        run_import(both, "misp-galaxy", misp_path)
        alone = attack_examples(kb, load_catalog(kb))
        with_misp = attack_examples(both, load_catalog(both))
    finally:
        both.close()
    assert sorted(map(repr, with_misp)) == sorted(map(repr, alone))
    negatives = [e for e in alone if e.source == "attack-negative"]
    assert len(negatives) > 1000
