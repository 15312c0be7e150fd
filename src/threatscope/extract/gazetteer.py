"""Known names -> mentions in text: actors, malware and tools, countries, victim sectors.

Names are looked up over token n-grams after `normalise_name` (so "APT 41", "apt-41" and "APT41"
all hit), which costs one dict lookup per n-gram whatever the size of the name list.

Vendor and malware names collide with English ("Agent", "One", "Equation"). A one-word name
counts only when written with a capital or digit, and, if it is also an ordinary word (it occurs
in lower case in ATT&CK's technique prose or in the same document), only when written with an
internal capital or a digit ("PowerShell", "Agent.BTZ"). An all-capitals short name ("SEA")
must be written in capitals; a name of several words must be matched by as many words ("in C"
is not "INC"). A one-word name that is also a place or a nationality ("Cuba", "Turkish") counts
as software only when a word like "ransomware" or "backdoor" follows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from threatscope.names import normalise_name

__all__ = ["Entry", "Gazetteer", "Mention", "sentences"]

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-']*[A-Za-z0-9]|[A-Za-z0-9]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")
_MAX_TOKENS = 6
_MIN_NORM = 3
_SOFTWARE_CUES = {
    "ransomware", "malware", "rat", "backdoor", "loader", "stealer", "trojan", "botnet",
    "wiper", "implant", "dropper", "downloader", "infostealer", "family", "variant",
}  # fmt: skip


@dataclass(frozen=True)
class Entry:
    kind: str  # actor, malware, tool, country, sector
    key: str  # what it resolves to: actor id, STIX object id, ISO code, sector id
    name: str  # canonical display name
    spelling: str  # the name as the source spells it


@dataclass(frozen=True)
class Mention:
    kind: str
    key: str
    name: str
    text: str
    start: int
    end: int
    sentence: str


def sentences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence: split after . ! ? before a capital, and at blank lines."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > start:
            yield start, match.start()
        start = match.end()
    if start < len(text):
        yield start, len(text)


class Gazetteer:
    def __init__(
        self,
        entries: Iterable[Entry],
        common_words: set[str] | None = None,
        place_words: set[str] | None = None,
    ) -> None:
        self._by_norm: dict[str, list[Entry]] = {}
        self._places = {normalise_name(word) for word in place_words or ()}
        for entry in entries:
            norm = normalise_name(entry.spelling)
            if len(norm) < _MIN_NORM and entry.kind not in ("country",):
                continue
            bucket = self._by_norm.setdefault(norm, [])
            if not any(e.kind == entry.kind and e.key == entry.key for e in bucket):
                bucket.append(entry)
        self._common = common_words or set()

    def __len__(self) -> int:
        return len(self._by_norm)

    def find(self, text: str, kinds: set[str] | None = None) -> list[Mention]:
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        words = [text[s:e].casefold() for s, e in tokens]
        lower_words = {text[s:e] for s, e in tokens if text[s:e].islower()}
        bounds = list(sentences(text))
        mentions: list[Mention] = []
        i = 0
        while i < len(tokens):
            matched = 0
            # Longest match first, so "Lazarus Group" beats "Lazarus".
            for size in range(min(_MAX_TOKENS, len(tokens) - i), 0, -1):
                start, end = tokens[i][0], tokens[i + size - 1][1]
                surface = text[start:end]
                entries = self._by_norm.get(normalise_name(surface))
                if not entries:
                    continue
                entries = [e for e in entries if kinds is None or e.kind in kinds]
                following = words[i + size] if i + size < len(words) else ""
                entries = [
                    e
                    for e in entries
                    if self._plausible(e, surface, size, lower_words)
                    and not self._place_not_software(e, surface, size, following)
                ]
                if not entries:
                    continue
                sentence = _sentence_of(bounds, start, text)
                mentions.extend(
                    Mention(e.kind, e.key, e.name, surface, start, end, sentence) for e in entries
                )
                matched = size
                break
            i += matched or 1
        return mentions

    def _place_not_software(self, entry: Entry, surface: str, size: int, following: str) -> bool:
        if entry.kind not in ("malware", "tool") or size != 1:
            return False
        return normalise_name(surface) in self._places and following not in _SOFTWARE_CUES

    def _plausible(self, entry: Entry, surface: str, size: int, lower_words: set[str]) -> bool:
        if entry.kind == "sector":
            return True
        if size != len(_TOKEN.findall(entry.spelling)):
            return False
        if entry.kind == "country":
            return surface[:1].isupper()
        if not any(c.isupper() or c.isdigit() for c in surface):
            return False  # names are proper nouns; "lotus" in prose is a flower
        if size > 1:
            return True
        if entry.spelling.isupper() and len(entry.spelling) <= 5 and not surface.isupper():
            return False
        folded = surface.casefold()
        if folded not in self._common and folded not in lower_words:
            return True
        return any(c.isdigit() for c in surface) or any(c.isupper() for c in surface[1:])


def _sentence_of(bounds: list[tuple[int, int]], offset: int, text: str) -> str:
    for start, end in bounds:
        if start <= offset < end:
            return " ".join(text[start:end].split())
    return ""
