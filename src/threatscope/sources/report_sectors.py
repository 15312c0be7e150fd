"""The victim sector of a report that names none: TF-IDF + logistic regression over its words,
learnt from the incidents EuRepoC's coders read.

Why: the sector words of the taxonomy (`[map.text]`) find a sector in about two thirds of
EuRepoC's incident descriptions; the other third ("hackers leaked the e-mails of the
president's campaign staff") names its victims without a sector word. A linear model over the
whole text reads those (issue 12, item 6; measured in bench/bench_import_reports.py).

Training data: the EuRepoC Global Database 1.1 of the shared data, only its incidents whose
EuRepoC ID has an even CRC-32 (`is_training_incident`); the other half is the benchmark's test
half and is never read here. Each incident's label is its coded receiver sector (as the
`eurepoc` importer maps it onto the sector taxonomy) that is commonest in the training half.

Without the shared data there is no model, and a report that names no sector gets none (the
keyword rules alone). Fitting takes a fraction of a second, but reading the CSV takes longer,
so the model is kept in the user's cache, keyed by the CSV's path, size and modification time
and `VERSION`. Scoring needs numpy only: the vocabulary, IDF weights and coefficients are
copied out of scikit-learn's fitted objects (`SectorModel.from_fitted`).
"""

from __future__ import annotations

import contextlib
import math
import pickle
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from threatscope.config import shared_data_dir
from threatscope.errors import ConfigError
from threatscope.files import write_atomically

__all__ = [
    "EUREPOC_GLOBAL",
    "SectorGuess",
    "SectorModel",
    "default_sector_model",
    "is_training_incident",
    "train_sector_model",
]

EUREPOC_GLOBAL = "incidents/eurepoc-1.1/EuRepoC_Global_Database_1.1.csv"
VERSION = "1"  # bump when training or scoring changes: cached models are then rebuilt
# scikit-learn's default token pattern: scoring must split words exactly as training did.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_NOT_A_SECTOR = frozenset({"other"})


def is_training_incident(eurepoc_id: str) -> bool:
    """The half of EuRepoC the model learns from: IDs with an even CRC-32."""
    return zlib.crc32(eurepoc_id.encode()) % 2 == 0


@dataclass(frozen=True)
class SectorGuess:
    sector: str
    probability: float
    sentence: str  # the sentence whose words weigh most for the sector


@dataclass(frozen=True)
class SectorModel:
    """A fitted TF-IDF (sublinear tf, l2 norm) + one-vs-rest logistic regression, as arrays."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # (terms,)
    coef: np.ndarray  # (sectors, terms)
    intercept: np.ndarray  # (sectors,)
    sectors: tuple[str, ...]
    examples: int

    @classmethod
    def from_fitted(cls, vectorizer: Any, classifier: Any, examples: int) -> SectorModel:
        estimators = classifier.estimators_
        return cls(
            vocabulary={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
            idf=np.asarray(vectorizer.idf_, dtype=np.float64),
            coef=np.vstack([e.coef_[0] for e in estimators]).astype(np.float64),
            intercept=np.array([e.intercept_[0] for e in estimators], dtype=np.float64),
            sectors=tuple(str(c) for c in classifier.classes_),
            examples=examples,
        )

    def probabilities(self, text: str) -> np.ndarray:
        """Per sector, as scikit-learn's `predict_proba` gives them (sigmoids, normalised)."""
        counts = Counter(
            self.vocabulary[w] for w in _TOKEN.findall(text.lower()) if w in self.vocabulary
        )
        if not counts:
            return np.zeros(len(self.sectors))
        columns = np.fromiter(counts, dtype=np.int64)
        weights = np.array([1.0 + math.log(counts[c]) for c in columns]) * self.idf[columns]
        weights /= np.linalg.norm(weights)
        scores = self.coef[:, columns] @ weights + self.intercept
        sigmoids = 1.0 / (1.0 + np.exp(-scores))
        return sigmoids / sigmoids.sum()

    def guess(self, text: str, sentences: list[str]) -> SectorGuess | None:
        """The likeliest sector, or None when the text shares no word with the training data."""
        probabilities = self.probabilities(text)
        if not probabilities.any():
            return None
        best = int(probabilities.argmax())
        weight = self.coef[best] * self.idf

        def weighs(sentence: str) -> float:
            words = {w for w in _TOKEN.findall(sentence.lower()) if w in self.vocabulary}
            return float(sum(weight[self.vocabulary[w]] for w in words))

        sentence = max(sentences, key=weighs, default="")
        return SectorGuess(self.sectors[best], float(probabilities[best]), sentence)


def train_sector_model(csv: Path) -> SectorModel:
    """Fit on the training half of the EuRepoC Global Database at `csv`."""
    texts, labels = training_examples(csv)
    vectorizer, classifier = fit(texts, labels)
    return SectorModel.from_fitted(vectorizer, classifier, len(texts))


def fit(texts: list[str], labels: list[str]) -> tuple[Any, Any]:
    """scikit-learn's fitted vectorizer and classifier (two labels or more, a word in two texts)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
    features = vectorizer.fit_transform(texts)
    # liblinear one-vs-rest: a tenth of a second here, where multinomial lbfgs took seconds;
    # balanced weights, or every short description would read as "government".
    classifier = OneVsRestClassifier(
        LogisticRegression(C=3.0, solver="liblinear", class_weight="balanced")
    )
    classifier.fit(features, labels)
    return vectorizer, classifier


def training_examples(csv: Path) -> tuple[list[str], list[str]]:
    """(description, label) of every training-half incident with a description and a sector."""
    from threatscope.sources.eurepoc import load_eurepoc

    coded: list[tuple[str, set[str]]] = []
    for incident in load_eurepoc(csv):
        if incident.get("type") != "incident" or not incident.get("description"):
            continue
        if not is_training_incident(incident["external_references"][0]["external_id"]):
            continue
        found = {
            s
            for victim in incident["x_threatscope_victims"]
            for s in victim["sectors"]
            if s not in _NOT_A_SECTOR
        }
        if found:
            coded.append((incident["description"], found))
    frequency = Counter(s for _, found in coded for s in found)
    # An incident coded with several sectors learns the commonest: one label per text.
    labels = [max(sorted(found), key=lambda s: frequency[s]) for _, found in coded]
    return [text for text, _ in coded], labels


def default_sector_model(data: Path | None = None) -> SectorModel | None:
    """The model for the shared data's EuRepoC Global Database, from the cache or trained now;
    None when the shared data does not hold it."""
    csv = (data or shared_data_dir()) / EUREPOC_GLOBAL
    if not csv.is_file():
        return None
    stat = csv.stat()
    key = f"{csv.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{VERSION}"
    cached = _load(key)
    if cached is not None:
        return cached
    model = train_sector_model(csv)
    _save(key, model)
    return model


def _cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("threatscope")) / "report-sectors.pickle"


def _load(key: str) -> SectorModel | None:
    try:
        stored_key, model = pickle.loads(_cache_path().read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError,
            ValueError):  # fmt: skip
        return None
    if stored_key != key or not isinstance(model, SectorModel):
        return None
    return model


def _save(key: str, model: SectorModel) -> None:
    with contextlib.suppress(ConfigError):  # a read-only home still works, just slower
        data = pickle.dumps((key, model), protocol=pickle.HIGHEST_PROTOCOL)
        write_atomically(_cache_path(), data, parents=True)
