"""Report text cut into sentences with offsets, and ATT&CK ids written out in it."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from threatscope.ids import TECHNIQUE_MENTION

__all__ = ["explicit_ids", "split_sentences"]

# A sentence ends at . ! ? followed by space and something that can open a sentence, or at a
# blank line / line that looks like a heading or list item. Abbreviations such as "e.g." are
# rarely followed by a capital, which keeps them inside their sentence.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*[-*•#\d])")
_MAX_SENTENCE = 1000
# T1059, T1059.001, and the URL form T1059/001; not inside a longer word or number.


def split_sentences(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, sentence) for each sentence; whitespace is trimmed from the offsets."""
    start = 0
    for boundary in _BOUNDARY.finditer(text):
        yield from _pieces(text, start, boundary.start())
        start = boundary.end()
    yield from _pieces(text, start, len(text))


def _pieces(text: str, start: int, end: int) -> Iterator[tuple[int, int, str]]:
    # Single newlines inside a paragraph are line wrapping; very long runs (tables, code dumps)
    # are cut so that one sentence cannot carry a whole page of evidence.
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while start < end:
        stop = min(end, start + _MAX_SENTENCE)
        if stop < end:
            space = text.rfind(" ", start, stop)
            stop = space if space > start else stop
        sentence = " ".join(text[start:stop].split())
        if sentence:
            yield start, stop, sentence
        start = stop
        while start < end and text[start].isspace():
            start += 1


def explicit_ids(text: str, known: Collection[str]) -> Iterator[tuple[int, int, str]]:
    """(start, end, id) for each ATT&CK technique id written in the text that `known` holds.

    An unknown sub-technique (T1059.999) falls back to its technique when that one is known.
    """
    for found in TECHNIQUE_MENTION.finditer(text):
        base, sub = found.group(1), found.group(2)
        attack_id = f"{base}.{sub}" if sub else base
        if attack_id in known:
            yield found.start(), found.end(), attack_id
        elif base in known:
            yield found.start(), found.start() + len(base), base
