"""An actor's names taken out of report text, the way anonymised attribution benchmarks do.

Every name a source gives the actor (ATT&CK name and aliases, MISP synonyms, the names of every
object resolved into the same actor, its ATT&CK ids) is replaced by "the threat actor",
case-insensitively and as whole words only: "APT28" goes, "APT280" stays. Spaces inside a name
match any run of whitespace, so a name broken over a line goes too. A leading "the" goes with
the name ("the Lazarus Group" -> "the threat actor", not "the the threat actor").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from threatscope.store.queries import Analytics

__all__ = ["MASK", "actor_names", "leftover_names", "mask_names", "mask_spans", "name_pattern"]

MASK = "the threat actor"
_THE = r"(?:\bthe\s+)?"
_MASKED = re.compile(re.escape(MASK), re.IGNORECASE)


def name_pattern(names: Iterable[str], with_article: bool = False) -> re.Pattern[str] | None:
    """One case-insensitive whole-word pattern for all `names`, longest first (so "Lazarus
    Group" wins over "Lazarus"); None when there is no name."""
    # A "name" without a letter or digit ("." or "-") names nothing, and its word boundaries
    # move once the words beside it are masked.
    spelled = sorted(
        {n.strip() for n in names if n and any(c.isalnum() for c in n)},
        key=lambda n: (-len(n), n),
    )
    if not spelled:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, name.split())) for name in spelled)
    article = _THE if with_article else ""
    return re.compile(rf"{article}(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def mask_names(text: str, names: Iterable[str]) -> tuple[str, int]:
    """`text` with every one of `names` replaced by MASK, and how many replacements were made."""
    pattern = name_pattern(names, with_article=True)
    if pattern is None:
        return text, 0
    return pattern.subn(_masked, text)


def _masked(match: re.Match[str]) -> str:
    # "The APT28 group said" -> "The threat actor group said": a sentence keeps its capital.
    found = match.group(0)
    return MASK.capitalize() if found[:3] == "The" and found[3:4].isspace() else MASK


def mask_spans(text: str, spans: Iterable[tuple[int, int]]) -> tuple[str, int]:
    """`text` with each (start, end) span replaced by MASK (overlaps merged)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + MASK + text[end:]
    return text, len(merged)


def leftover_names(text: str, names: Iterable[str]) -> list[str]:
    """The names still written in `text` (as written there): empty once masking is complete."""
    pattern = name_pattern(names)
    if pattern is None:
        return []
    # The mask's own words are no leftover (a name "Threat" stays in "the threat actor").
    unmasked = _MASKED.sub(" ", text)
    return sorted({m.group(0) for m in pattern.finditer(unmasked)})


def actor_names(db: Analytics, actor_ids: Iterable[str]) -> set[str]:
    """Every name the knowledge base knows for the resolved actors: the actor's own name, the
    names, aliases and ATT&CK ids of every object resolved into it."""
    return db.actor_name_variants(actor_ids)
