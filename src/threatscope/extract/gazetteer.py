"""Known names -> mentions in text: actors, malware and tools, countries, victim sectors.

Names are looked up over token n-grams after `normalise_name` (so "APT 41", "apt-41" and "APT41"
all hit), which costs one dict lookup per n-gram whatever the size of the name list.

Vendor and malware names collide with English ("Agent", "One", "Equation"). A one-word name
counts only when written with a capital or digit, and, if it is also an ordinary word (it occurs
in lower case in ATT&CK's technique prose or in the same document), only when written with an
internal capital or a digit ("PowerShell", "Agent.BTZ"). An all-capitals short name ("SEA")
must be written in capitals; a name of several words must be matched by as many words ("in C"
is not "INC"); words are also split where the spelling runs them together, so "Brute Ratel"
is "BruteRatel" and "CobaltStrike" is "Cobalt Strike". A one-word name that is also a place or
a nationality ("Cuba", "Turkish") counts as software only when a word like "ransomware" or
"backdoor" follows it.

"Ordinary word" is judged on prose only: ATT&CK's command lines, link texts and citations, and a
document's defanged indicators ("remcos[.]got-game[.]org"), paths and code name things, so a
lower-case "mimikatz" there makes no English word of Mimikatz. An ordinary word written in
capitals ("TROJAN" in a signature name, "REG" of REG_DWORD) is no internal capital either,
unless the name itself is spelt so ("BEACON"); a name glued to an identifier (".NET",
"REG\\_DWORD") is part of that identifier. Software whose name is an ordinary word still
counts where the context says it is software: a tool word follows ("the Beacon payload"), a
verb of use comes before ("used Mimikatz") or a passive one after ("Certutil was used"), or it
stands in a list with software found on its own ("Mimikatz and Cobalt Strike").
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from threatscope.extract.name_automaton import NameAutomaton
from threatscope.extract.token_spans import text_codes, token_spans
from threatscope.names import normalise_name

__all__ = ["Entry", "Gazetteer", "Mention", "sentences"]

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-']*[A-Za-z0-9]|[A-Za-z0-9]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")
_CAMEL_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_MAX_TOKENS = 6
_MIN_NORM = 3
# Context kept around a mention whose "sentence" is longer (a table or a dump without full
# stops): every mention carries its sentence, and thousands of them each carrying a megabyte
# would make output quadratic in the input.
_MAX_SENTENCE = 4000
_CONTEXT = 500
_SOFTWARE_CUES = {
    "ransomware", "malware", "rat", "backdoor", "loader", "stealer", "trojan", "botnet",
    "wiper", "implant", "dropper", "downloader", "infostealer", "family", "variant",
}  # fmt: skip
# Words after a name that make it software even when the name is an ordinary word.
_TOOL_CUES = _SOFTWARE_CUES | {
    "tool", "tools", "utility", "utilities", "framework", "payload", "payloads", "beacon",
    "beacons", "binary", "binaries", "executable", "module", "modules",
    "sample", "samples", "plugin", "tunnel", "tunneler",
}  # fmt: skip
# Verbs of use before a name ("used Mimikatz"), and after it in the passive ("was used").
_USE_VERBS = {
    "use", "uses", "used", "using", "deploy", "deploys", "deployed", "deploying", "run", "runs",
    "ran", "running", "execute", "executes", "executed", "executing", "drop", "drops",
    "dropped", "dropping", "install", "installs", "installed", "installing", "leverage",
    "leverages", "leveraged", "leveraging", "download", "downloads", "downloaded", "launch",
    "launches", "launched", "launching", "load", "loads", "loaded", "loading", "abuse", "abuses",
    "abused", "abusing",
}  # fmt: skip
_PASSIVE = {"is", "was", "were", "are", "been", "being"}
# What may stand between two items of a list: "X, Y and Z", "X/Y", "X or Y".
_LIST_GAP = re.compile(r"\s*(?:,|/|&|,?\s*\b(?:and|or|as well as|plus)\b)\s*", re.IGNORECASE)
# Characters that glue a token to an identifier, a path or a defanged indicator around it.
_GLUED_BEFORE = frozenset(".\\/@_[:=$%")
_GLUED_AFTER = frozenset("\\/@_[=")
# A token (one per run of token characters, from its first letter or digit to its last) that is
# all lower-case letters and not glued: neither the character before it is in _GLUED_BEFORE nor
# the one after it in _GLUED_AFTER. Possessive, so that a long run of dots is read once.
_PROSE_LOWER_WORD = re.compile(
    r"(?<![A-Za-z0-9._\-'])[._\-']*+(?<![.\\/@_\[:=$%])([a-z]++)(?![\\/@_\[=])"
    r"[._\-']*+(?![A-Za-z0-9._\-'])"
)


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
        self._automaton = NameAutomaton(self._by_norm)

    def __len__(self) -> int:
        return len(self._by_norm)

    def find(self, text: str, kinds: set[str] | None = None) -> list[Mention]:
        codes = text_codes(text)
        starts, ends = token_spans(codes)
        tokens = list(zip(starts.tolist(), ends.tolist(), strict=True))
        words = _Words(text, tokens)
        lower_words: set[str] | None = None  # built on first need
        bounds = _Sentences(text)
        mentions: list[Mention] = []
        # Software named by an ordinary word, waiting for a list neighbour to vouch for it.
        pending: list[tuple[int, int, list[Entry]]] = []
        next_token = 0
        for i, sizes in self._candidates(text, codes, starts, ends):
            if i < next_token:
                continue  # inside a longer name found before
            # Longest match first, so "Lazarus Group" beats "Lazarus".
            for size in sizes:
                start, end = tokens[i][0], tokens[i + size - 1][1]
                if _glued(text, start, end):
                    continue
                surface = text[start:end]
                entries = self._by_norm.get(normalise_name(surface))
                if not entries:
                    continue
                entries = [e for e in entries if kinds is None or e.kind in kinds]
                following = words[i + size] if i + size < len(tokens) else ""
                entries = [
                    e
                    for e in entries
                    if not self._place_not_software(e, surface, size, following)
                ]
                if lower_words is None and entries:
                    lower_words = _prose_lower_words(text)
                plausible = [
                    e for e in entries if self._plausible(e, surface, size, lower_words or set())
                ]
                if not plausible:
                    ordinary = [e for e in entries if self._ordinary_software(e, surface, size)]
                    if ordinary and _software_context(words, i, size):
                        plausible = ordinary
                    elif ordinary:
                        pending.append((i, size, ordinary))
                if not plausible:
                    continue
                sentence = bounds.around(start, end)
                mentions.extend(
                    Mention(e.kind, e.key, e.name, surface, start, end, sentence)
                    for e in plausible
                )
                next_token = i + size
                break
        if pending:
            mentions = _vouched(text, tokens, bounds, mentions, pending)
        return mentions

    def _candidates(
        self, text: str, codes: np.ndarray, starts: np.ndarray, ends: np.ndarray
    ) -> list[tuple[int, list[int]]]:
        """(first token, sizes longest first) of each n-gram of at most `_MAX_TOKENS` tokens
        whose normalisation may be a known name, in token order."""
        spans = self._automaton.spans(text, codes)
        if spans is None:  # no exact normalised stream: every n-gram is a candidate
            return [
                (i, list(range(min(_MAX_TOKENS, len(starts) - i), 0, -1)))
                for i in range(len(starts))
            ]
        span_starts, span_ends = spans
        if not len(span_starts) or not len(starts):
            return []
        # Token indices of the spans that start where a token starts and end where one ends.
        first = np.minimum(np.searchsorted(starts, span_starts), len(starts) - 1)
        last = np.minimum(np.searchsorted(ends, span_ends), len(ends) - 1)
        size = last - first + 1
        keep = (starts[first] == span_starts) & (ends[last] == span_ends)
        keep &= (size >= 1) & (size <= _MAX_TOKENS)
        sizes: dict[int, set[int]] = {}
        for i, n in zip(first[keep].tolist(), size[keep].tolist(), strict=True):
            sizes.setdefault(i, set()).add(n)
        return [(i, sorted(sizes[i], reverse=True)) for i in sorted(sizes)]

    def _place_not_software(self, entry: Entry, surface: str, size: int, following: str) -> bool:
        if entry.kind not in ("malware", "tool") or size != 1:
            return False
        return normalise_name(surface) in self._places and following not in _SOFTWARE_CUES

    def _plausible(self, entry: Entry, surface: str, size: int, lower_words: set[str]) -> bool:
        if entry.kind == "sector":
            return True
        if not _same_word_count(entry.spelling, surface, size):
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
        return _distinctive(entry.spelling, surface)

    def _ordinary_software(self, entry: Entry, surface: str, size: int) -> bool:
        """A one-word software name, written as a proper noun, that is also an ordinary word:
        software only where the context says so."""
        return (
            entry.kind in ("malware", "tool")
            and size == 1
            and _same_word_count(entry.spelling, surface, size)
            and surface[:1].isupper()
            and not (surface.isupper() and not entry.spelling.isupper())
        )


def _distinctive(spelling: str, surface: str) -> bool:
    """Written so that no ordinary word is: a digit, or a capital inside a word that is not
    all capitals ("PowerShell", "Agent.BTZ"), or all capitals as the name itself is spelt."""
    if any(c.isdigit() for c in surface):
        return True
    if surface.isupper():
        return spelling.isupper()
    return any(c.isupper() for c in surface[1:])


def _camel_words(text: str) -> int:
    """Words in a spelling, split at blanks, punctuation and lower-to-upper case changes."""
    return len(_CAMEL_WORD.findall(text))


def _same_word_count(spelling: str, surface: str, size: int) -> bool:
    counts = {len(_TOKEN.findall(spelling)), _camel_words(spelling)}
    return size in counts or _camel_words(surface) in counts


def _glued(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1] in _GLUED_BEFORE) or (
        end < len(text) and text[end] in _GLUED_AFTER
    )


def _prose_lower_words(text: str) -> set[str]:
    """Lower-case words of the document's prose: not parts of indicators, paths or code.

    A token that is all lower-case letters, not glued to what stands around it, found by one
    regular expression rather than by a Python test of every token."""
    return set(_PROSE_LOWER_WORD.findall(text))


class _Words:
    """The case-folded tokens of a text, folded on demand: only tokens around a name are read."""

    def __init__(self, text: str, tokens: list[tuple[int, int]]) -> None:
        self._text = text
        self._tokens = tokens

    def __len__(self) -> int:
        return len(self._tokens)

    def __getitem__(self, index: int) -> str:
        start, end = self._tokens[index]
        return self._text[start:end].casefold()

    def span(self, first: int, stop: int) -> list[str]:
        return [self[i] for i in range(max(first, 0), min(stop, len(self._tokens)))]


def _software_context(words: _Words, i: int, size: int) -> bool:
    before = words[i - 1] if i > 0 else ""
    after = words.span(i + size, i + size + 2)
    return (
        before in _USE_VERBS
        or (bool(after) and after[0] in _TOOL_CUES)
        or (len(after) == 2 and after[0] in _PASSIVE and after[1] in _USE_VERBS)
    )


def _vouched(
    text: str,
    tokens: list[tuple[int, int]],
    bounds: _Sentences,
    mentions: list[Mention],
    pending: list[tuple[int, int, list[Entry]]],
) -> list[Mention]:
    """`mentions` plus the pending names that stand in one list with software, repeatedly, so
    that one known name vouches for a whole list ("Plink, Certutil and Mimikatz").

    A list gap holds at most three tokens ("as well as"), so only software within four tokens
    can vouch: each name vouched for is a worklist item whose neighbours are looked at once,
    rather than every pending name against every software name until nothing changes.
    """
    waiting = {i: (size, entries) for i, size, entries in pending}
    # Software as token ranges [first, last]; a pending name is one token (size 1), but sizes
    # are kept general.
    # Mentions start and end where tokens do: their token indices by bisection.
    work = [
        (bisect_left(tokens, (m.start,)), bisect_left(tokens, m.end, key=_token_end))
        for m in mentions
        if m.kind in ("malware", "tool")
    ]
    while work and waiting:
        first, last = work.pop()
        for i in _list_neighbours(text, tokens, first, last, waiting):
            size, entries = waiting.pop(i)
            start, end = tokens[i][0], tokens[i + size - 1][1]
            sentence = bounds.around(start, end)
            surface = text[start:end]
            mentions.extend(
                Mention(e.kind, e.key, e.name, surface, start, end, sentence) for e in entries
            )
            work.append((i, i + size - 1))
    return sorted(mentions, key=lambda m: m.start)


def _token_end(token: tuple[int, int]) -> int:
    return token[1]


def _list_neighbours(
    text: str,
    tokens: list[tuple[int, int]],
    first: int,
    last: int,
    waiting: dict[int, tuple[int, list[Entry]]],
) -> list[int]:
    """Token indices of the waiting names that stand in one list with tokens[first..last]:
    a list gap holds at most three tokens ("as well as")."""
    found = []
    for i in range(max(0, first - 3 - _MAX_TOKENS), first):  # "Plink and Mimikatz"
        size = waiting[i][0] if i in waiting else 0
        if (
            size
            and first - 3 <= i + size <= first
            and _LIST_GAP.fullmatch(text, tokens[i + size - 1][1], tokens[first][0])
        ):
            found.append(i)
    for i in range(last + 1, min(len(tokens), last + 5)):  # "Mimikatz and Plink"
        if i in waiting and _LIST_GAP.fullmatch(text, tokens[last][1], tokens[i][0]):
            found.append(i)
    return found


class _Sentences:
    """The sentence around an offset, found by bisection and joined once per sentence."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._bounds = list(sentences(text))
        self._starts = [start for start, _ in self._bounds]
        self._joined: dict[int, str] = {}

    def around(self, start: int, end: int) -> str:
        """The sentence holding text[start:end], whitespace collapsed; in a sentence longer
        than `_MAX_SENTENCE`, the whole words within `_CONTEXT` characters of the mention."""
        index = bisect_right(self._starts, start) - 1
        if index < 0 or start >= self._bounds[index][1]:
            return ""
        low, high = self._bounds[index]
        if high - low <= _MAX_SENTENCE:
            joined = self._joined.get(index)
            if joined is None:
                joined = self._joined[index] = " ".join(self._text[low:high].split())
            return joined
        window_low, window_high = max(low, start - _CONTEXT), min(high, end + _CONTEXT)
        words = self._text[window_low:window_high].split()
        if window_low > low and not self._text[window_low - 1].isspace():
            words = words[1:]  # a word cut by the window
        if window_high < high and not self._text[window_high].isspace():
            words = words[:-1]
        return " ".join(words)
