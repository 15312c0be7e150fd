"""Labelled sentences for the ATT&CK technique classifier, read from where they live.

Three sources, each optional except the first:

- the knowledge base: ATT&CK's procedure examples (the descriptions of `uses` relationships
  whose target is a technique) and the techniques' own descriptions; the descriptions of
  groups, software and campaigns become the "no technique" class, so that a model trained on
  ATT&CK alone still learns that most report sentences name no technique;
- TRAM2's annotated training sentences (`text/tram2/single_label_train.json`);
- AnnoCTR's *train* split (`text/annoctr/train/`): the sentence around every technique link,
  and the sentences of those reports that carry no technique link as negatives.

AnnoCTR's dev split is read only by `annoctr_documents("dev")` for evaluation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threatscope.extract.techniques_text import split_sentences
from threatscope.ids import TECHNIQUE_URL

__all__ = [
    "NONE_LABEL",
    "AnnoctrDocument",
    "Example",
    "TechniqueCatalog",
    "annoctr_documents",
    "annoctr_examples",
    "attack_examples",
    "attack_id_from_url",
    "clean_attack_text",
    "load_catalog",
    "tram2_examples",
]

NONE_LABEL = "none"

_CITATION = re.compile(r"\s*\(Citation:[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_CODE = re.compile(r"<code>|</code>")
_NEGATIVE_TYPES = ("intrusion-set", "malware", "tool", "campaign")
_ATTACK_SOURCES = frozenset({"mitre-attack", "mitre-ics-attack", "mitre-mobile-attack"})


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled sentence; `group` keeps sentences of one document together in CV folds."""

    text: str
    label: str
    group: str
    source: str


@dataclass(frozen=True, slots=True)
class TechniqueCatalog:
    """Current (not revoked, not deprecated) techniques: ATT&CK id -> name, and STIX id -> id."""

    names: dict[str, str]
    by_stix_id: dict[str, str]


@dataclass(frozen=True, slots=True)
class AnnoctrDocument:
    name: str
    text: str
    techniques: frozenset[str]
    # (start, end) of every technique mention found verbatim in the text, with its id.
    mentions: tuple[tuple[int, int, str], ...]


def clean_attack_text(text: str) -> str:
    """ATT&CK markdown to plain prose: citations dropped, `[name](url)` links kept as `name`."""
    text = _CITATION.sub("", text)
    text = _LINK.sub(r"\1", text)
    return _CODE.sub("", text).strip()


def attack_id_from_url(url: str) -> str | None:
    """`https://attack.mitre.org/techniques/T1059/001` -> `T1059.001`; None if not a technique."""
    found = TECHNIQUE_URL.search(url)
    if not found:
        return None
    base, sub = found.group(1).upper(), found.group(2)
    return f"{base}.{sub}" if sub else base


def _attack_id(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("external_references") or ():
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"])
    return None


def load_catalog(store: Any) -> TechniqueCatalog:
    """The Enterprise techniques the knowledge base knows; deprecated ones cannot be predicted.
    ICS and Mobile techniques are left out: reports of enterprise intrusions are the job, and
    their look-alike classes ("Spearphishing Attachment" in ICS) only split the votes."""
    names: dict[str, str] = {}
    by_stix_id: dict[str, str] = {}
    for obj in store.iter_objects(["attack-pattern"]):
        attack_id = _attack_id(obj)
        if not attack_id or obj.get("x_mitre_deprecated"):
            continue
        if "enterprise-attack" not in (obj.get("x_mitre_domains") or ["enterprise-attack"]):
            continue
        names[attack_id] = obj.get("name") or attack_id
        by_stix_id[obj["id"]] = attack_id
    return TechniqueCatalog(dict(sorted(names.items())), by_stix_id)


def attack_examples(store: Any, catalog: TechniqueCatalog) -> list[Example]:
    """Procedure examples, technique descriptions and no-technique prose from ATT&CK."""
    examples: list[Example] = []
    for obj in store.iter_objects(["attack-pattern", "relationship", *_NEGATIVE_TYPES]):
        kind = obj.get("type")
        if kind == "relationship":
            label = catalog.by_stix_id.get(obj.get("target_ref", ""))
            if obj.get("relationship_type") != "uses" or not label:
                continue
            text = clean_attack_text(obj.get("description") or "")
            if text:
                # Each procedure example is its own document: they come from many reports.
                examples.append(Example(text, label, obj["id"], "attack-procedure"))
        elif kind == "attack-pattern":
            label = catalog.by_stix_id.get(obj["id"])
            if not label:
                continue
            examples.append(Example(obj.get("name") or label, label, obj["id"], "attack-name"))
            for sentence in _sentences(clean_attack_text(obj.get("description") or "")):
                examples.append(Example(sentence, label, obj["id"], "attack-description"))
        elif _from_attack(obj):
            # Only ATT&CK's own groups and software: other sources' actor descriptions (MISP's
            # "uses spearphishing and PowerShell") would teach that technique prose is no
            # technique, so the model would depend on what else the knowledge base holds.
            for sentence in _sentences(clean_attack_text(obj.get("description") or "")):
                examples.append(Example(sentence, NONE_LABEL, obj["id"], "attack-negative"))
    return examples


def _from_attack(obj: dict[str, Any]) -> bool:
    return any(
        isinstance(ref, dict) and ref.get("source_name") in _ATTACK_SOURCES
        for ref in obj.get("external_references") or ()
    )


def tram2_examples(data_dir: Path, catalog: TechniqueCatalog) -> list[Example]:
    """TRAM2's training sentences whose label is a current technique; [] when absent."""
    path = data_dir / "text" / "tram2" / "single_label_train.json"
    if not path.is_file():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        Example(row["text"], row["label"], f"tram2:{row['doc_title']}", "tram2")
        for row in rows
        if row.get("label") in catalog.names and row.get("text")
    ]


def annoctr_documents(data_dir: Path, split: str) -> list[AnnoctrDocument]:
    """AnnoCTR reports of one split with their gold technique ids; [] when absent."""
    folder = data_dir / "text" / "annoctr" / split
    if not folder.is_dir():
        return []
    docs = []
    for txt in sorted(folder.glob("*.txt")):
        text = txt.read_text(encoding="utf-8")
        links = txt.with_name(txt.stem + ".links.jsonl")
        techniques: set[str] = set()
        mentions: list[tuple[int, int, str]] = []
        for link in _read_jsonl(links):
            if link.get("entity_type") != "TECHNIQUE":
                continue
            attack_id = attack_id_from_url(link.get("label_link") or "")
            if not attack_id:
                continue
            techniques.add(attack_id)
            span = _locate(text, link)
            if span:
                mentions.append((*span, attack_id))
        docs.append(AnnoctrDocument(txt.stem, text, frozenset(techniques), tuple(mentions)))
    return docs


def annoctr_examples(docs: Iterable[AnnoctrDocument], catalog: TechniqueCatalog) -> list[Example]:
    """Every sentence of the reports: labelled with the technique mentioned in it, else none."""
    examples: list[Example] = []
    for doc in docs:
        group = f"annoctr:{doc.name}"
        for start, end, sentence in split_sentences(doc.text):
            labels = {
                attack_id
                for m_start, m_end, attack_id in doc.mentions
                if m_start < end and m_end > start and attack_id in catalog.names
            }
            if labels:
                examples.extend(Example(sentence, lab, group, "annoctr") for lab in sorted(labels))
            elif not any(m_start < end and m_end > start for m_start, m_end, _ in doc.mentions):
                examples.append(Example(sentence, NONE_LABEL, group, "annoctr-negative"))
    return examples


def _sentences(text: str) -> Iterator[str]:
    for _, _, sentence in split_sentences(text):
        if len(sentence) > 15:
            yield sentence


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def _locate(text: str, link: dict[str, Any]) -> tuple[int, int] | None:
    """Where a mention sits in the report: found with its left context, else on its own."""
    mention = link.get("mention") or ""
    if not mention:
        return None
    probe = (link.get("_context_left") or "") + mention
    at = text.find(probe)
    if at >= 0:
        start = at + len(probe) - len(mention)
        return start, start + len(mention)
    at = text.find(mention)
    return (at, at + len(mention)) if at >= 0 else None
