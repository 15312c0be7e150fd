"""The stated-nexus search runs the phrase pattern only near country words: it must find
exactly what a search of the whole text finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import shared_file
from threatscope.extract.stated_nexus import _PATTERN, _matches

PIECES = [
    "China", "chinese", "Russian", "IRAN", "north korean", "PRC", "-based", " state-sponsored",
    " threat actors", " group", "linked to ", "on behalf of the ", " government", "attributed to",
    " ", "  ", "\n", ", ", "Chinaware", "xRussian", "İ", "the victim in ", "-", "sponsored by ",
    "a" * 150,
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_windowed_search_finds_what_the_whole_search_finds(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert [m.span() for m in _matches(text)] == [m.span() for m in _PATTERN.finditer(text)]


def test_real_reports_give_the_same_matches() -> None:
    folder = shared_file("text/annoctr/train").parent
    for path in sorted(folder.glob("*/*.txt")):
        text = path.read_text("utf-8")
        assert [m.span() for m in _matches(text)] == [m.span() for m in _PATTERN.finditer(text)]
