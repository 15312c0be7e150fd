"""Every span of a text whose `normalise_name` is one of many known names, in one pass.

Normalising each token n-gram and looking it up costs a Python call per n-gram (issue 12: 11 of
15 s of `extract` on the AnnoCTR corpus). `normalise_name` works character by character (NFKD,
casefold, drop what is not a letter or digit), so the text is normalised once into a stream that
remembers which character each normalised one came from, and an Aho-Corasick automaton of the
normalised names finds every occurrence in that stream in C.

One exception to "character by character": NFKD reorders combining marks, and a few of them
become letters when case-folded (Greek ypogegrammeni, U+0345, folds to iota). A text holding one
of those has no exact stream; `spans` returns None for it and the caller falls back to n-grams.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import ahocorasick
import numpy as np

from threatscope.names import normalise_name

__all__ = ["NameAutomaton"]

# ASCII: letters lower-cased, digits kept, everything else dropped (what normalise_name does).
_ASCII = {code: normalise_name(chr(code)) or None for code in range(128)}
_ASCII_LENGTHS = np.array([len(_ASCII[code] or "") for code in range(128)], dtype=np.int64)
# The same on bytes, where translating takes a millisecond a megabyte (str.translate: fifty).
_ASCII_BYTES = bytes(ord(_ASCII[code] or "\0") for code in range(128)).ljust(256, b"\0")
_NOT_ALNUM_BYTES = bytes(code for code in range(128) if _ASCII[code] is None)
_RUNS = re.compile(r"([\x00-\x7f]*)([^\x00-\x7f]*)")


class NameAutomaton:
    def __init__(self, names: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for name in names:
            if name:  # the automaton takes no empty key, and no text span normalises to one
                self._automaton.add_word(name, len(name))
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def spans(self, text: str, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(starts, ends) of every span of `text` whose normalisation is a name, where the span
        starts and ends at a character that normalises to itself (an ASCII letter or digit):
        tokens start and end so. `codes`: the text's code points. None when the text has no
        exact normalised stream."""
        empty = np.zeros(0, dtype=np.int64)
        if self._empty or not text:
            return empty, empty
        stream = _Stream.of(text, codes)
        if stream is None:
            return None
        found = list(self._automaton.iter(stream.normalised))
        if not found:
            return empty, empty
        ends = np.fromiter((end for end, _ in found), dtype=np.int64, count=len(found))
        lengths = np.fromiter((length for _, length in found), dtype=np.int64, count=len(found))
        return stream.source[ends + 1 - lengths], stream.source[ends] + 1


class _Stream:
    """`normalised`, and for each of its characters the index in the text it came from."""

    def __init__(self, normalised: str, source: np.ndarray) -> None:
        self.normalised = normalised
        self.source = source

    @classmethod
    def of(cls, text: str, codes: np.ndarray) -> _Stream | None:
        if text.isascii():
            lengths = _ASCII_LENGTHS[codes]
            normalised = text.encode("ascii").translate(_ASCII_BYTES, _NOT_ALNUM_BYTES)
            return cls(normalised.decode("ascii"), np.flatnonzero(lengths))
        table: dict[int, str | None] = dict(_ASCII)
        for char in set(text) - set(map(chr, range(128))):
            if _reordered(char):
                return None
            table[ord(char)] = normalise_name(char) or None
        lengths = np.zeros(len(codes), dtype=np.int64)
        ascii_codes = codes < 128
        lengths[ascii_codes] = _ASCII_LENGTHS[codes[ascii_codes]]
        other = np.flatnonzero(~ascii_codes)
        unique, inverse = np.unique(codes[other], return_inverse=True)
        unique_lengths = np.array([len(table[code] or "") for code in unique.tolist()], np.int64)
        lengths[other] = unique_lengths[inverse]
        return cls(_translated(text, table), np.repeat(np.arange(len(codes)), lengths))


def _translated(text: str, table: dict[int, str | None]) -> str:
    """`text.translate(table)`, the ASCII runs (most of a report) translated as bytes."""
    parts = []
    for ascii_run, other in _RUNS.findall(text):
        parts.append(ascii_run.encode("ascii").translate(_ASCII_BYTES, _NOT_ALNUM_BYTES).decode())
        parts.append(other.translate(table))
    return "".join(parts)


def _reordered(char: str) -> bool:
    """Whether NFKD may move a letter-to-be of `char` past a neighbour's combining marks."""
    return any(
        unicodedata.combining(part) and normalise_name(part)
        for part in unicodedata.normalize("NFKD", char)
    )
