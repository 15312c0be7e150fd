"""Report text -> the ATT&CK techniques it describes, each with a confidence and its evidence.

Two ways a technique is found:

- written out (`T1059.001`, `T1566`, `.../techniques/T1059/001`): confidence 1.0, kept only
  when the knowledge base knows the id;
- described in prose: a trained model (`threatscope.extract.training`). The default one,
  trained with labelled reports, scores every sentence with a linear SVM (a "none" class among
  the techniques), then decides per report: a small logistic regression over report-level
  features of each candidate technique (sentences voting for it, best score and margin, how
  often labelled reports hold it), learnt from reports the SVM never saw, at two levels:
  sub-techniques as written (TRAM2's labels) and parent techniques pooling their
  sub-techniques' evidence (AnnoCTR's). Its confidence is that regression's probability. It
  beat the plain TF-IDF + LinearSVC baseline (each sentence's label) on AnnoCTR dev and on
  report CV of AnnoCTR train and TRAM2 (`bench/bench_techniques.py`). Without labelled reports
  the model is the older one: one-vs-rest linear sentence probabilities (optionally mixed with a
  gated nearest-training-sentence score), a threshold, and a sub-technique's parent reported
  with it. MiniLM sentence embeddings were ruled out because encoding a 10k-word report took
  7-18 s on this CPU (`bench/bench_techniques.py --minilm`).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from threatscope.errors import ConfigError
from threatscope.extract.techniques_text import explicit_ids, split_sentences
from threatscope.files import write_atomically
from threatscope.plain import plain

__all__ = [
    "Evidence",
    "TechniqueMatch",
    "TechniqueModel",
    "default_model_path",
    "extract_techniques",
    "load_model",
    "model_file",
    "save_model",
]

MODEL_FORMAT = 1
LEVELS_OUT = ("exact", "parent", "both")
_EVIDENCE_PER_TECHNIQUE = 3


@dataclass(frozen=True, slots=True)
class Evidence:
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class TechniqueMatch:
    technique_id: str
    name: str
    confidence: float
    explicit: bool
    sentences: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "technique_id": self.technique_id,
            "name": self.name,
            "confidence": round(self.confidence, 4),
            "explicit": self.explicit,
            "sentences": [
                {"start": e.start, "end": e.end, "text": e.text, "score": round(e.score, 4)}
                for e in self.sentences
            ],
        }


@dataclass(slots=True)
class TechniqueModel:
    """Everything prediction needs; built by `training.train_model`, stored by `save_model`.

    A sentence's score for a technique is a weighted mean of two parts, either of which may be
    switched off (weight 0, part None):
    - nearest example: gate(sentence) x cosine similarity to the closest training sentence of
      that technique, the gate being a logistic "does this describe a technique at all";
    - linear: the probability a one-vs-rest linear classifier (with a "none" class) gives it.
    """

    vectorizer: Any  # a fitted sklearn TfidfVectorizer
    classes: np.ndarray  # technique ids, the score columns
    names: dict[str, str]  # every known technique id -> name (for explicit ids too)
    threshold: float
    gate: Any | None = None  # binary classifier with predict_proba
    examples: Any = None  # scipy CSR, one L2-normalised row per training sentence, by class
    class_starts: np.ndarray | None = None  # first row of each class in `examples`
    linear: Any | None = None  # multi-class classifier with predict_proba
    linear_columns: np.ndarray | None = None  # its columns that are `classes`
    linear_weight: float = 0.0
    # One vote per sentence (its best technique) or every technique over the threshold.
    one_vote: bool = False
    # A sub-technique found implies its technique: report both (AnnoCTR CV: micro F1 +0.07).
    add_parents: bool = True
    info: dict[str, Any] = field(default_factory=dict)
    # The report-level model (`method="report"`): sentence decisions -> per-level deciders.
    sentence_classifier: Any = None  # report_training.SentenceClassifier
    deciders: dict[str, Any] = field(default_factory=dict)  # level -> ReportDecider

    def sentence_scores(self, sentences: list[str]) -> np.ndarray:
        """(sentences x classes) scores in [0, 1]."""
        if not sentences:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        query = self.vectorizer.transform(sentences)
        scores = np.zeros((len(sentences), len(self.classes)), dtype=np.float32)
        # `examples` and `class_starts` are set together (both None when the part is off).
        starts = self.class_starts
        if self.examples is not None and starts is not None and self.linear_weight < 1.0:
            sims = (query @ self.examples.T).toarray()
            nearest = np.maximum.reduceat(sims, starts, axis=1)
            if self.gate is not None:
                nearest *= self.gate.predict_proba(query)[:, 1:2]
            scores += (1.0 - self.linear_weight) * nearest
        if self.linear is not None and self.linear_weight > 0.0:
            probabilities = self.linear.predict_proba(query)[:, self.linear_columns]
            scores += self.linear_weight * probabilities
        return scores


def extract_techniques(
    text: str, model: TechniqueModel, threshold: float | None = None, level: str = "both"
) -> list[TechniqueMatch]:
    """Techniques in `text`, most confident first; explicit ids first among equals.

    `level` ("exact", "parent" or "both") is the level a report-level model decides at:
    sub-techniques as written, parent techniques (a sub-technique's evidence counts for its
    parent), or both; older models report exact ids with their parents whatever it says.
    """
    if level not in LEVELS_OUT:
        raise ConfigError(f"unknown technique level {level!r}: use one of {', '.join(LEVELS_OUT)}")
    if model.deciders:
        return _report_level(text, model, threshold, level)
    # float(): models saved before thresholds were plain floats hold a numpy.float64 here.
    threshold = float(model.threshold if threshold is None else threshold)
    found: dict[str, list[Evidence]] = {}
    explicit: set[str] = set()
    for start, end, attack_id in explicit_ids(text, model.names):
        explicit.add(attack_id)
        found.setdefault(attack_id, []).append(Evidence(start, end, text[start:end], 1.0))

    spans = list(split_sentences(text))
    scores = model.sentence_scores([s for _, _, s in spans])
    if len(spans):
        for i, j in _votes(scores, threshold, model.one_vote):
            attack_id = str(model.classes[j])
            start, end, sentence = spans[i]
            found.setdefault(attack_id, []).append(
                Evidence(start, end, sentence, float(scores[i, j]))
            )

    if model.add_parents:
        for attack_id, evidence in list(found.items()):
            parent = attack_id.split(".")[0]
            if parent != attack_id and parent in model.names:
                found.setdefault(parent, []).extend(evidence)

    matches = []
    for attack_id, evidence in found.items():
        ranked = sorted(set(evidence), key=lambda e: (-e.score, e.start))
        top = ranked[0].score
        confidence = 1.0 if attack_id in explicit else _confidence(top, threshold)
        matches.append(
            TechniqueMatch(
                attack_id,
                model.names.get(attack_id, attack_id),
                confidence,
                attack_id in explicit,
                tuple(ranked[:_EVIDENCE_PER_TECHNIQUE]),
            )
        )
    matches.sort(key=lambda m: (-m.confidence, not m.explicit, m.technique_id))
    return matches


def _report_level(
    text: str, model: TechniqueModel, threshold: float | None, level: str
) -> list[TechniqueMatch]:
    """Explicit ids (confidence 1) and what the deciders find, each with its best sentences."""
    levels: list[str] = [
        lv for lv in ("exact", "parent") if level in (lv, "both") and lv in model.deciders
    ]
    if not levels:  # a model trained on one level's data answers for both
        levels = list(model.deciders)
    spans = list(split_sentences(text))
    decisions = model.sentence_classifier.decisions([s for _, _, s in spans])
    found: dict[str, tuple[float, list[Evidence]]] = {}
    for lv in levels:
        for attack_id, probability, columns in model.deciders[lv].decide(
            decisions, model.sentence_classifier.classes, threshold
        ):
            best = decisions[:, columns].max(axis=1)
            evidence = [
                Evidence(spans[i][0], spans[i][1], spans[i][2], float(best[i]))
                for i in np.argsort(-best, kind="stable")[:_EVIDENCE_PER_TECHNIQUE]
            ]
            if probability > found.get(attack_id, (-1.0, []))[0]:
                found[attack_id] = (probability, evidence)
    explicit: dict[str, list[Evidence]] = {}
    for start, end, attack_id in explicit_ids(text, model.names):
        ids = {attack_id} if level == "exact" else {attack_id.split(".")[0]}
        if level == "both":
            ids.add(attack_id)
        for each in ids:
            explicit.setdefault(each, []).append(Evidence(start, end, text[start:end], 1.0))
    matches = [
        TechniqueMatch(
            attack_id,
            model.names.get(attack_id, attack_id),
            1.0 if attack_id in explicit else probability,
            attack_id in explicit,
            tuple((explicit.get(attack_id, []) + evidence)[:_EVIDENCE_PER_TECHNIQUE]),
        )
        for attack_id, (probability, evidence) in found.items()
    ]
    matches += [
        TechniqueMatch(i, model.names.get(i, i), 1.0, True, tuple(e[:_EVIDENCE_PER_TECHNIQUE]))
        for i, e in explicit.items()
        if i not in found and i in model.names
    ]
    matches.sort(key=lambda m: (-m.confidence, not m.explicit, m.technique_id))
    return matches


def _votes(scores: np.ndarray, threshold: float, one_vote: bool) -> list[tuple[int, int]]:
    """(sentence, technique) pairs over the threshold."""
    if one_vote:
        # Each sentence speaks for its best technique only: letting it vote for every technique
        # it resembles floods a long report with near-duplicates (T1059 and all its children).
        best = scores.argmax(axis=1)
        rows = np.flatnonzero(scores[np.arange(len(best)), best] >= threshold)
        return [(int(i), int(best[i])) for i in rows]
    rows, cols = np.nonzero(scores >= threshold)
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def _confidence(score: float, threshold: float) -> float:
    """Map [threshold, 1] onto [0.5, 1] so 0.5 means "just made the cut" whatever the model."""
    if threshold >= 1.0:
        return 0.5
    return min(1.0, 0.5 + 0.5 * (score - threshold) / (1.0 - threshold))


def default_model_path() -> Path:
    """`techniques.joblib` in the user data directory, beside the default database."""
    return Path(platformdirs.user_data_dir("threatscope")) / "techniques.joblib"


def save_model(model: TechniqueModel, path: Path | str | None = None) -> Path:
    """Write the model with joblib (written to a temp name first, so a crash leaves no stub)."""
    import joblib

    path = model_file(path)
    buffer = io.BytesIO()
    joblib.dump({"format": MODEL_FORMAT, "model": model}, buffer, compress=3)
    write_atomically(path, buffer.getvalue(), parents=True)
    return path


def model_file(path: Path | str | None = None) -> Path:
    """Where `save_model` will write, its folder created: checked before a long training, so a
    bad --output fails in a second rather than after minutes."""
    path = Path(path) if path else default_model_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the model: {exc.strerror or exc}") from None
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory; give a model file name")
    return path


def load_model(path: str | os.PathLike[str] | None = None) -> TechniqueModel:
    """Read a model written by `save_model`; a missing or foreign file is a ConfigError."""
    import joblib

    path = Path(path) if path else default_model_path()
    if not path.is_file():
        raise ConfigError(f"no technique model at {path}: run `threatscope train` first")
    try:
        payload = joblib.load(path)
    except Exception as exc:  # joblib raises many kinds for a damaged or foreign file
        raise ConfigError(f"{path}: not a technique model ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise ConfigError(f"{path}: technique model of another format: run `threatscope train`")
    model: TechniqueModel = payload["model"]
    # Models trained before the fix hold numpy scalars (threshold, CV figures): JSON needs floats.
    model.threshold = float(model.threshold)
    model.info = plain(model.info)
    for name, default in (("sentence_classifier", None), ("deciders", {})):
        if not hasattr(model, name):  # saved before the report-level model existed
            setattr(model, name, default)
    return model
