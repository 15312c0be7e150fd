"""Every JSON output of the AI path works with a model `threatscope train` made (issue 10, item 1).

A model trained with AnnoCTR cross-validation used to carry a `numpy.float64` threshold into
every confidence, so `extract --json`, `--bundle`, `--store`, `train --json` and
`eval techniques --json` crashed in orjson. The model here is small (a dozen ATT&CK techniques
cut from the real Enterprise bundle, five AnnoCTR train reports, their TRAM2 sentences) so that
training with cross-validation takes seconds, yet it goes through exactly the `train` command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner, Result

from conftest import shared_file
from threatscope.cli import app
from threatscope.extract.document import extract_file, extraction_bundle
from threatscope.extract.evaluate import evaluate_techniques
from threatscope.extract.techniques import load_model, save_model
from threatscope.plain import plain
from threatscope.store import open_store

# Technique families kept in the small knowledge base (sub-techniques included).
FAMILIES = ("T1059", "T1566", "T1486", "T1071", "T1105", "T1027", "T1547", "T1003", "T1190")
REPORT = """# Ransomware intrusion

The attackers sent spearphishing emails with a malicious Word document attached to staff of the
ministry. The email lured recipients into opening the attachment and enabling macros.

The ransomware encrypts files on local drives and network shares with AES and appends the
.locked extension, then drops a ransom note demanding payment in bitcoin for decryption.

Operators dumped credentials from LSASS memory with Mimikatz and ran PowerShell (T1059.001).
"""
PLAIN_TYPES = (dict, list, str, int, float, bool, type(None))


def assert_plain(value: Any, where: str = "result") -> None:
    """Only JSON's own Python types, exactly (numpy.float64 subclasses float: not enough)."""
    assert type(value) in PLAIN_TYPES, f"{where}: {type(value).__name__}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, f"{where}: key {key!r}"
            assert_plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_plain(item, f"{where}[{i}]")


def _family(attack_id: str | None) -> bool:
    return bool(attack_id) and attack_id.split(".")[0] in FAMILIES


def _small_bundle(source: Path, target: Path) -> None:
    """Enterprise with only FAMILIES' attack-patterns (actors, software, relationships kept)."""
    objects = json.loads(source.read_bytes())["objects"]
    dropped = set()
    for obj in objects:
        if obj["type"] == "attack-pattern":
            ids = [r.get("external_id") for r in obj.get("external_references", ())]
            if not any(_family(i) for i in ids if i and i.startswith("T")):
                dropped.add(obj["id"])
    kept = [
        o
        for o in objects
        if o["id"] not in dropped
        and o.get("source_ref") not in dropped
        and o.get("target_ref") not in dropped
    ]
    bundle_id = "bundle--00000000-0000-4000-8000-000000000010"
    target.write_bytes(orjson.dumps({"type": "bundle", "id": bundle_id, "objects": kept}))


def _small_data(root: Path) -> Path:
    """A shared-data directory: 5 AnnoCTR train reports (enough for 5-fold CV), 2 dev, TRAM2."""
    annoctr = shared_file("text/annoctr/train").parent
    for split, count in (("train", 5), ("dev", 2)):
        folder = root / "text" / "annoctr" / split
        folder.mkdir(parents=True)
        for txt in sorted((annoctr / split).glob("*.txt"))[:count]:
            links = txt.with_name(txt.stem + ".links.jsonl")
            (folder / txt.name).symlink_to(txt)
            (folder / links.name).symlink_to(links)
    rows = json.loads(shared_file("text/tram2/single_label_train.json").read_bytes())
    tram2 = root / "text" / "tram2"
    tram2.mkdir(parents=True)
    (tram2 / "single_label_train.json").write_text(
        json.dumps([r for r in rows if _family(r["label"])]), encoding="utf-8"
    )
    return root


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def run_json(db: Path, *args: str) -> Any:
    result = run(db, *args)
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, enterprise_path: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("plain")
    bundle = root / "small-attack.json"
    _small_bundle(enterprise_path, bundle)
    db = root / "kb.db"
    assert run(db, "import", "attack", str(bundle)).exit_code == 0
    assert run(db, "import", "misp-galaxy").exit_code == 0
    data = _small_data(root / "data")
    model = root / "model.joblib"
    info = run_json(db, "train", "--data", str(data), "--output", str(model), "--json")
    report = root / "report.md"
    report.write_text(REPORT, encoding="utf-8")
    return {"db": db, "data": data, "model": model, "info": info, "report": report, "root": root}


def test_train_json_reports_the_cross_validated_deciders(trained: dict[str, Any]) -> None:
    info = trained["info"]
    assert info["method"] == "report"
    cv = info["cross_validation"]
    assert cv["annoctr"]["folds"] == 5 and len(cv["annoctr"]["per_document"]) == 5
    assert cv["annoctr"]["level"] == "parent" and cv["tram2"]["level"] == "exact"
    assert set(info["deciders"]) == {"exact", "parent"}
    assert set(info["examples"]) >= {"tram2", "annoctr", "attack-procedure"}
    model = load_model(trained["model"])
    assert type(model.threshold) is float
    assert all(type(d.threshold) is float for d in model.deciders.values())
    assert_plain(model.info, "model.info")


def test_extract_json_bundle_and_store_with_the_trained_model(trained: dict[str, Any]) -> None:
    db, model, report = trained["db"], str(trained["model"]), str(trained["report"])
    bundle = trained["root"] / "out.json"
    summary = run_json(
        db, "extract", report, "--model", model, "--bundle", str(bundle), "--store", "--json"
    )
    described = [t for t in summary["techniques"] if not t.get("explicit", True)]
    assert described, summary["techniques"]  # the model found techniques in prose
    assert {"T1486", "T1059.001"} <= {t["id"] for t in summary["techniques"]}
    assert summary["stored"]["added"] > 0
    written = orjson.loads(bundle.read_bytes())
    report_object = next(o for o in written["objects"] if o["type"] == "report")
    confidences = {t["id"]: t["confidence"] for t in report_object["x_threatscope_techniques"]}
    assert confidences == {t["id"]: t["confidence"] for t in summary["techniques"]}
    # The terminal output takes the same path without --json.
    assert run(db, "extract", report, "--model", model).exit_code == 0


def test_library_results_are_plain_values(trained: dict[str, Any]) -> None:
    from threatscope.attribution import attribute, evidence_from_summary

    model = load_model(trained["model"])
    store = open_store(trained["db"], create=False)
    try:
        extraction = extract_file(trained["report"], store, model)
        summary = extraction.summary()
        assert_plain(summary, "summary")
        assert_plain(extraction_bundle(extraction, store), "bundle")
        assert_plain(attribute(store, evidence_from_summary(summary)), "attribution")
        for dataset in ("annoctr-dev", "annoctr-train-cv"):  # tram2-cv: through the CLI below
            result = evaluate_techniques(model, dataset, data_dir=trained["data"], store=store)
            assert_plain(result, dataset)
    finally:
        store.close()


def test_attribute_text_and_eval_techniques_json(trained: dict[str, Any]) -> None:
    db, model, data = trained["db"], str(trained["model"]), str(trained["data"])
    result = run_json(db, "attribute", "--text", str(trained["report"]), "--model", model, "--json")
    assert "T1486" in result["evidence_used"]["techniques"]
    assert run(db, "attribute", "--text", str(trained["report"]), "--model", model).exit_code == 0
    for dataset in ("annoctr-dev", "annoctr-train-cv", "tram2-cv"):
        evaluation = run_json(
            db, "eval", "techniques", "--dataset", dataset, "--model", model, "--data", data,
            "--json",
        )  # fmt: skip
        assert evaluation["dataset"] == dataset
        assert evaluation["threshold"] == trained["info"]["threshold"]
        if dataset != "annoctr-train-cv":  # recorded CV figures have no views
            _assert_every_view(evaluation, dataset)
    dev = run(db, "eval", "techniques", "--model", model, "--data", data)  # annoctr-dev
    assert dev.exit_code == 0, dev.output
    assert "annoctr-dev parent: per-document F1" in dev.stdout
    assert "(the level this dataset labels)" in dev.stdout


def _assert_every_view(evaluation: dict[str, Any], dataset: str) -> None:
    """`eval techniques --json` prints the exact, parent and closed-set views (issue 12)."""
    assert set(evaluation["views"]) == {"exact", "parent", "closed_exact", "closed_parent"}
    # AnnoCTR links parent techniques; TRAM2 labels sub-techniques too.
    assert evaluation["label_level"] == ("parent" if dataset == "annoctr-dev" else "exact")
    assert evaluation["label_space"] > 0
    for view in evaluation["views"].values():
        assert set(view) == {"micro", "macro", "documents", "per_document_f1"}
        assert set(view["micro"]) == set(view["macro"]) == {"precision", "recall", "f1"}
        assert len(view["per_document_f1"]) == view["documents"] == evaluation["documents"]
    assert evaluation["views"]["exact"]["micro"] == evaluation["micro"]


def test_a_model_saved_with_numpy_values_still_serialises(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    """Models trained before the fix hold numpy.float64 threshold and CV figures."""
    model = load_model(trained["model"])
    model.threshold = np.float64(model.threshold)
    model.info["threshold"] = np.float64(model.info["threshold"])
    old = save_model(model, tmp_path / "old.joblib")
    report = str(trained["report"])
    summary = run_json(trained["db"], "extract", report, "--model", str(old), "--json")
    assert summary["techniques"]
    evaluation = run_json(
        trained["db"], "eval", "techniques", "--dataset", "annoctr-train-cv", "--model", str(old),
        "--json",
    )  # fmt: skip
    assert evaluation["threshold"] == trained["info"]["threshold"]


def test_plain_converts_nested_numpy_values() -> None:
    value = {"a": np.float64(0.5), "b": [np.int64(3), (np.bool_(True),)], "c": np.arange(2)}
    converted = plain(value)
    assert converted == {"a": 0.5, "b": [3, (True,)], "c": [0, 1]}
    assert_plain({**converted, "b": [3, [True]]})
