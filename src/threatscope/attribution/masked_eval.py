"""`attribute --text` on real reports with the actor's names masked, as anonymised benchmarks do.

Cases: the AnnoCTR reports (shared data, `text/annoctr/{dev,train}`) in which the annotators
linked a mention to an ATT&CK group. Truth: the group(s) linked most often, as resolved actors
(an ATT&CK group and its MISP twin are one). Only annotated links count: a group id inside the
description of some linked software (REvil's names GOLD SOUTHFIELD) is not the report's actor.

Each case, before `attribute` sees it:
- masking: every name of every truth actor (`masking.actor_names`: names, aliases, synonyms and
  ATT&CK ids of every object resolved into it) and every mention the annotators linked to it is
  replaced by "the threat actor"; then whatever the extractor's own gazetteer still reads as a
  truth actor (it normalises spellings: "APT-28") is masked too. A case whose masked text still
  names its actor is a bug, and stops the evaluation.
- leave-out: every ATT&CK relationship that cites the report (a reference URL holding the
  file's slug) leaves the profiles (`without_report`), so the report cannot vouch for itself.

Then the masked text goes through what `threatscope attribute --text` runs: `extract_file`
(with the technique model when one is given, else explicit ATT&CK ids only),
`evidence_from_summary`, `attribute`. The technique model is trained on AnnoCTR train, so the
train split's techniques were seen in training: the splits are reported apart.

Baselines in the same run: Jaccard overlap of the evidence's technique+software set with each
profile (no weights, no calibration), the actor with the most ATT&CK techniques, the nexus most
common among the split's truths, and chance (each actor assessed equally likely).
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from threatscope.attribution.calibrate import load_calibration
from threatscope.attribution.engine import attribute, matrices_for
from threatscope.attribution.evaluate import Case, _jaccard_rank, items_from
from threatscope.attribution.evidence import evidence_from_summary, resolve
from threatscope.attribution.masking import actor_names, leftover_names, mask_names, mask_spans
from threatscope.attribution.score import Matrices
from threatscope.config import shared_data_dir
from threatscope.errors import ConfigError, InputError
from threatscope.extract.document import extract_file
from threatscope.extract.entities import build_gazetteer
from threatscope.extract.gazetteer import Gazetteer
from threatscope.extract.text import read_report
from threatscope.ids import GROUP_URL
from threatscope.store.queries import Analytics

__all__ = [
    "SPLITS",
    "GroupLinks",
    "evaluate_masked",
    "group_links",
    "mask_report",
    "without_report",
]

SPLITS = ("dev", "train")
_SUFFIX = ".links.jsonl"


@dataclass(frozen=True)
class GroupLinks:
    """The annotators' links to ATT&CK groups in one report."""

    counts: dict[str, int]  # G-number -> mentions linked to it
    mentions: dict[str, set[str]]  # G-number -> the mentions as written

    @property
    def top(self) -> set[str]:
        """The group(s) linked most often: the report's actor."""
        if not self.counts:
            return set()
        most = max(self.counts.values())
        return {group for group, n in self.counts.items() if n == most}


def group_links(links: Path) -> GroupLinks:
    counts: Counter[str] = Counter()
    mentions: dict[str, set[str]] = defaultdict(set)
    for number, line in enumerate(links.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise InputError(str(links), f"not JSON: {error}", f"line {number}") from None
        if not isinstance(row, dict):
            raise InputError(str(links), "not a JSON object", f"line {number}")
        match = GROUP_URL.search(str(row.get("label_link") or ""))
        if match:
            counts[match.group(1)] += 1
            if row.get("mention"):
                mentions[match.group(1)].add(str(row["mention"]))
    return GroupLinks(dict(counts), dict(mentions))


def without_report(mats: Matrices, db: Analytics, slug: str) -> tuple[Matrices, int]:
    """The matrices with every `uses` that cites the report taken out of every profile, and how
    many relationships cite it."""
    citing = db.relationships_citing(slug)
    result = mats
    for index, actor in enumerate(mats.profiles.actors):
        if not any(u.rel_id in citing for u in actor.uses):
            continue
        kept = [u for u in actor.uses if u.rel_id not in citing]
        result = result.copy_with(index, items_from(actor, kept), actor.years)
    return result, len(citing)


def mask_report(
    text: str, names: set[str], gazetteer: Gazetteer, actor_ids: set[str], where: str
) -> tuple[str, int]:
    """`text` with the actors' `names` masked, then any span the gazetteer still resolves to one
    of `actor_ids`; the number of replacements. Raises AssertionError if a name survives."""
    masked, replaced = mask_names(text, names)
    for _ in range(3):  # a masked span can expose a name the gazetteer read as a longer one
        spans = [
            (m.start, m.end)
            for m in gazetteer.find(masked, {"actor"})
            if m.kind == "actor" and m.key in actor_ids
        ]
        if not spans:
            break
        masked, more = mask_spans(masked, spans)
        replaced += more
    left = leftover_names(masked, names)
    found = {m.text for m in gazetteer.find(masked, {"actor"}) if m.key in actor_ids}
    if left or found:
        raise AssertionError(f"{where}: the actor is still named after masking: {left or found}")
    return masked, replaced


def evaluate_masked(
    store: Any, split: str = "all", model: Any = None, data_dir: Path | None = None
) -> dict[str, Any]:
    """Top-1, top-3 and nexus accuracy of `attribute --text` on masked AnnoCTR reports, per split,
    beside the baselines; `model`: a loaded technique model (None: explicit ids only)."""
    if split not in (*SPLITS, "all"):
        raise ConfigError(f"unknown split {split!r}; known: dev, train, all")
    root = (data_dir or shared_data_dir()) / "text" / "annoctr"
    splits = SPLITS if split == "all" else (split,)
    for name in splits:
        if not any((root / name).glob(f"*{_SUFFIX}")):
            raise ConfigError(f"no AnnoCTR {name} split under {root} (set THREATSCOPE_DATA)")
    mats = matrices_for(store)
    context = _Context(store, mats, build_gazetteer(store), model)
    result: dict[str, Any] = {
        "dataset": "annoctr-masked",
        "technique_model": "trained model" if model is not None else "explicit ATT&CK ids only",
        "splits": {},
    }
    with tempfile.TemporaryDirectory(prefix="threatscope-masked-") as folder:
        for name in splits:
            rows: list[dict[str, Any]] = []
            read = sorted((root / name).glob(f"*{_SUFFIX}"))
            for links in read:
                row = context.run(links, Path(folder))
                if row is not None:
                    rows.append(row)
            # Reports read, of which `reports` qualify (a mention linked to a known group).
            result["splits"][name] = {"reports_read": len(read), **_summary(rows)}
    return result


class _Context:
    """What every case shares: the knowledge base, its full matrices, the gazetteer, the model."""

    def __init__(self, store: Any, mats: Matrices, gazetteer: Gazetteer, model: Any) -> None:
        self.store, self.mats, self.gazetteer, self.model = store, mats, gazetteer, model
        self.calibration = load_calibration()
        profiles = mats.profiles
        self.actor_of_group = {
            gid: profiles.member_actor[obj]
            for obj, gid in profiles.group_attack_ids.items()
            if obj in profiles.member_actor
        }
        self.index_of = profiles.actor_index()
        techniques = mats.n["technique"]
        self.by_techniques = [int(i) for i in np.argsort(-techniques, kind="stable")[:3]]

    def run(self, links: Path, folder: Path) -> dict[str, Any] | None:
        linked = group_links(links)
        truth = {self.actor_of_group[g] for g in linked.top if g in self.actor_of_group}
        if not truth:
            return None
        actors = self.mats.profiles.actors
        text_path = links.with_name(links.name.removesuffix(_SUFFIX) + ".txt")
        _, text = read_report(text_path)
        names = actor_names(self.store, truth) | {
            mention
            for group, written in linked.mentions.items()
            if self.actor_of_group.get(group) in truth
            for mention in written
        }
        masked, replaced = mask_report(text, names, self.gazetteer, truth, str(text_path))
        slug = text_path.stem.split("_", 2)[2]
        case_mats, removed = without_report(self.mats, self.store, slug)
        masked_path = folder / text_path.name
        masked_path.write_text(masked, encoding="utf-8")
        # What `attribute --text` runs (cli.attribute_): extract, evidence, attribute.
        summary = extract_file(masked_path, self.store, self.model).summary()
        evidence = evidence_from_summary(summary)
        truth_index = {self.index_of[a] for a in truth}
        truth_nexus = next(
            (actors[t].nexus for t in sorted(truth_index) if actors[t].nexus), None
        )
        row: dict[str, Any] = {
            "report": text_path.stem,
            "truth": sorted(actors[t].name for t in truth_index),
            "truth_nexus": truth_nexus,
            "replacements": replaced,
            "relationships_left_out": removed,
        }
        if evidence.is_empty():  # `attribute` refuses to answer: no candidate, no nexus
            return {**row, **_no_answer(), **self._baselines(None, case_mats, truth_index)}
        answer = attribute(
            self.store, evidence, top=3, calibration=self.calibration, matrices=case_mats
        )
        ranked = [self.index_of[c["actor_id"]] for c in answer["candidates"]]
        used = answer["evidence_used"]
        return {
            **row,
            "predicted": answer["candidates"][0]["name"] if ranked else None,
            "probability": answer["candidates"][0]["probability"] if ranked else 0.0,
            "top1": bool(ranked) and ranked[0] in truth_index,
            "top3": bool(truth_index & set(ranked[:3])),
            "nexus": answer["nexus"][0]["nexus"] if answer["nexus"] else None,
            "actors_assessed": used["actors_assessed"],
            "evidence": {
                kind: len(used[kind])
                for kind in ("techniques", "software", "cves", "iocs", "sectors")
                if used[kind]
            },
            "named_actors": used["named_actors"],
            **self._baselines(resolve(evidence, case_mats.profiles), case_mats, truth_index),
        }

    def _baselines(self, resolved: Any, mats: Matrices, truth: set[int]) -> dict[str, Any]:
        jaccard: list[int] = []
        if resolved is not None:
            overlap = _jaccard_rank(Case("", truth, resolved, mats))
            if overlap.max() > 0:
                jaccard = [int(i) for i in np.argsort(-overlap, kind="stable")[:3]]
        return {
            "jaccard_top1": bool(jaccard) and jaccard[0] in truth,
            "jaccard_top3": bool(truth & set(jaccard)),
            "most_techniques_top1": self.by_techniques[0] in truth,
            "most_techniques_top3": bool(truth & set(self.by_techniques)),
        }


def _no_answer() -> dict[str, Any]:
    return {
        "predicted": None,
        "probability": 0.0,
        "top1": False,
        "top3": False,
        "nexus": None,
        "actors_assessed": 0,
        "evidence": {},
        "named_actors": [],
    }


def _chance(row: dict[str, Any], k: int) -> float:
    assessed = row["actors_assessed"]
    return min(k * len(row["truth"]) / assessed, 1.0) if assessed else 0.0


def _mean(values: list[bool] | list[float]) -> float:
    return round(float(np.mean(values)), 4) if values else 0.0


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    with_nexus = [r for r in rows if r["truth_nexus"]]
    majority = Counter(r["truth_nexus"] for r in with_nexus).most_common(1)
    return {
        "reports": len(rows),
        "replacements": sum(r["replacements"] for r in rows),
        "top1": _mean([r["top1"] for r in rows]),
        "top3": _mean([r["top3"] for r in rows]),
        "nexus": _mean([r["nexus"] == r["truth_nexus"] for r in with_nexus]),
        "reports_with_nexus": len(with_nexus),
        "baselines": {
            "jaccard": {
                "top1": _mean([r["jaccard_top1"] for r in rows]),
                "top3": _mean([r["jaccard_top3"] for r in rows]),
            },
            "most_techniques": {
                "top1": _mean([r["most_techniques_top1"] for r in rows]),
                "top3": _mean([r["most_techniques_top3"] for r in rows]),
            },
            # Answering the nexus most common among this split's own truths (an upper bound
            # for any constant answer).
            "majority_nexus": {
                "nexus": majority[0][0] if majority else None,
                "accuracy": round(majority[0][1] / len(with_nexus), 4) if majority else 0.0,
            },
            # Every assessed actor equally likely: one truth in n.
            "chance": {
                "top1": _mean([_chance(r, 1) for r in rows]),
                "top3": _mean([_chance(r, 3) for r in rows]),
            },
        },
        "cases": rows,
    }
