"""The plain TF-IDF + LinearSVC baseline every technique model is compared against (issue 12).

Nothing tuned: word uni- and bigram TF-IDF of the training sentences, scikit-learn's LinearSVC
with its default C, one class per technique plus "none". A report's techniques are the labels
its sentences are classified as, "none" left out: no threshold, no parent roll-up, no explicit
ids. It is what a practitioner would try first, so a model that cannot beat it by more than the
noise is not worth its complexity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from threatscope.extract.techniques_text import split_sentences
from threatscope.extract.training_data import NONE_LABEL, Example

__all__ = ["PlainBaseline", "fit_plain_baseline"]


@dataclass(slots=True)
class PlainBaseline:
    vectorizer: Any  # a fitted sklearn TfidfVectorizer
    classifier: Any  # a fitted sklearn LinearSVC

    def predict(self, text: str) -> set[str]:
        """The techniques of a report: its sentences' labels other than "none"."""
        sentences = [s for _, _, s in split_sentences(text)]
        if not sentences:
            return set()
        labels = self.classifier.predict(self.vectorizer.transform(sentences))
        return {str(label) for label in labels if label != NONE_LABEL}


def fit_plain_baseline(examples: Sequence[Example], seed: int = 0) -> PlainBaseline:
    """Fit on the same labelled sentences the shipped model learns from."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    matrix = vectorizer.fit_transform([e.text for e in examples])
    classifier = LinearSVC(random_state=seed)
    classifier.fit(matrix, [e.label for e in examples])
    return PlainBaseline(vectorizer, classifier)
