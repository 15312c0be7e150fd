"""Scores -> probabilities, the constants that do it, and how well they are calibrated.

    P(actor a)       = exp(s_a / T(n)) / Z       for every actor the evidence can speak to
    P(unknown/other) = exp(b) / Z
    T(n)             = T * n ** g                n: evidence items given

The LLRs of n items add up as if the items were independent, and they are not (a group's
techniques come in clusters), so the sum overstates what many items say: g > 0 tempers it. T
(temperature), g and b (the "unknown/other" logit) are fitted by `fit_calibration` and shipped as
data in `calibration.json`, so a given knowledge base and evidence always give the same numbers.
The fit minimises the negative log-likelihood of the truth on *fitting* cases only: the
`attack-reports` protocol (evaluate.py) with seeds `FIT_SEEDS` (never the reporting seeds), where
every `OPEN_SET_EVERY`-th case has its true actor removed from the knowledge base altogether so
that "unknown/other" is the right answer there (an intrusion by a group the knowledge base does
not know). Without those cases b would run off to minus infinity and the engine would never
admit ignorance. The calibration shipped was fitted on ATT&CK Enterprise 18.1 and the MISP
galaxy; `bench/tune_attribution.py` refits it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np

from threatscope.errors import ConfigError
from threatscope.files import write_atomically

__all__ = [
    "FIT_SEEDS",
    "OPEN_SET_EVERY",
    "Calibration",
    "brier_top1",
    "expected_calibration_error",
    "fit_temperature",
    "load_calibration",
    "posterior",
    "read_calibration",
    "save_calibration",
]

FIT_SEEDS = (1000, 1001)
OPEN_SET_EVERY = 4
_FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    temperature: float
    unknown_logit: float
    meta: dict[str, Any]
    size_exponent: float = 0.0  # g in T(n) = T * n ** g

    def temperature_for(self, items: int) -> float:
        return self.temperature * max(items, 1) ** self.size_exponent


@cache
def load_calibration() -> Calibration:
    """The calibration shipped in the package (a missing one is an error, never a fallback)."""
    return read_calibration(files("threatscope.attribution").joinpath(_FILE))


def read_calibration(resource: Traversable | Path) -> Calibration:
    if not resource.is_file():
        # Uncalibrated probabilities look just as precise and are wrong: refuse to give them.
        raise ConfigError(
            f"{resource}: the attribution calibration is missing from this installation;"
            " reinstall threatscope (the file ships as package data)"
        )
    try:
        doc = json.loads(resource.read_text("utf-8"))
        return Calibration(
            float(doc["temperature"]),
            float(doc["unknown_logit"]),
            doc,
            float(doc.get("size_exponent", 0.0)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{resource}: not an attribution calibration ({exc!r})") from None


def save_calibration(calibration: Calibration, path: Path | None = None) -> Path:
    target = path or Path(str(files("threatscope.attribution").joinpath(_FILE)))
    doc = {
        "temperature": round(calibration.temperature, 6),
        "unknown_logit": round(calibration.unknown_logit, 6),
        **calibration.meta,
        "size_exponent": round(calibration.size_exponent, 6),
    }
    write_atomically(target, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
    load_calibration.cache_clear()
    return target


def posterior(
    scores: np.ndarray,
    calibration: Calibration,
    items: int = 1,
    prescaled: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Probabilities of the given actor scores (from `items` evidence items) and of
    unknown/other (they sum to 1). `prescaled`: the part of the scores that is a likelihood
    ratio set a priori (IOC matches), taken as it is rather than tempered."""
    if scores.size == 0:
        return scores.astype(float), 1.0
    fixed = prescaled if prescaled is not None else np.zeros_like(scores)
    temperature = calibration.temperature_for(items)
    logits = np.append((scores - fixed) / temperature + fixed, calibration.unknown_logit)
    logits -= logits.max()
    weights = np.exp(logits)
    weights /= weights.sum()
    return weights[:-1], float(weights[-1])


def fit_temperature(
    cases: list[tuple[np.ndarray, int | None, int]],
) -> tuple[float, float, float]:
    """(T, b, g) minimising the NLL of the truth; a case is (scores, index of truth or None,
    number of evidence items)."""
    from scipy.optimize import minimize

    def nll(theta: np.ndarray) -> float:
        temperature, bias, exponent = float(np.exp(theta[0])), float(theta[1]), float(theta[2])
        total = 0.0
        for scores, truth, items in cases:
            logits = np.append(scores / (temperature * max(items, 1) ** exponent), bias)
            top = logits.max()
            log_z = top + np.log(np.exp(logits - top).sum())
            total -= (logits[truth] if truth is not None else bias) - log_z
        return total / max(len(cases), 1)

    result = minimize(
        nll,
        np.array([0.0, 0.0, 0.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-4, "maxiter": 2000},
    )
    return float(np.exp(result.x[0])), float(result.x[1]), float(result.x[2])


def expected_calibration_error(
    confidence: list[float], correct: list[bool], bins: int = 10
) -> float:
    """ECE over `bins` equal-width confidence bins (top-1 confidence vs top-1 accuracy)."""
    if not confidence:
        return 0.0
    conf, hit = np.asarray(confidence), np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(conf[mask].mean() - hit[mask].mean())
    return float(error)


def brier_top1(confidence: list[float], correct: list[bool]) -> float:
    """One-vs-rest Brier score of the top-1 candidate: mean (p_top - [top is right])^2."""
    if not confidence:
        return 0.0
    conf, hit = np.asarray(confidence), np.asarray(correct, dtype=float)
    return float(np.mean((conf - hit) ** 2))
