"""The gazetteer finds names with an automaton over the normalised text (issue 12, item 3): the
same mentions as looking up every token n-gram, without normalising every n-gram."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from threatscope.extract.gazetteer import (
    _GLUED_AFTER,
    _GLUED_BEFORE,
    _TOKEN,
    Entry,
    Gazetteer,
    _prose_lower_words,
)
from threatscope.extract.name_automaton import _Stream
from threatscope.extract.token_spans import text_codes, token_spans
from threatscope.names import normalise_name

ENTRIES = [
    Entry("actor", "apt41", "APT41", "APT 41"),
    Entry("actor", "lazarus", "Lazarus Group", "Lazarus Group"),
    Entry("actor", "lazarus", "Lazarus Group", "Lazarus"),
    Entry("tool", "cs", "Cobalt Strike", "Cobalt Strike"),
    Entry("tool", "mimikatz", "Mimikatz", "Mimikatz"),
    Entry("tool", "beacon", "Beacon", "Beacon"),
    Entry("malware", "agent-btz", "Agent.BTZ", "Agent.BTZ"),
    Entry("malware", "cuba", "Cuba", "Cuba"),
    Entry("malware", "sechs", "Café Loader", "Café Loader"),
    Entry("country", "GB", "United Kingdom", "UK"),
    Entry("country", "CU", "Cuba", "Cuba"),
    Entry("sector", "energy", "Energy", "energy"),
]
PIECES = [
    "APT", "41", "apt-41", "Lazarus", "Group", "Cobalt", "Strike", "CobaltStrike", "Mimikatz",
    "mimikatz", "Beacon", "beacon", "Agent.BTZ", "Agent", "BTZ", "Cuba", "ransomware", "Café",
    "CAFE", "Loader", "UK", "U", "K", "energy", "used", "was", "and", "the", "ﬁ", "é", "x_y",
    "Lazarus Group", "APT 41", "Cobalt Strike", "Café Loader", "U.K", "Lazarus Group Cuba",
]  # fmt: skip
SEPARATORS = [" ", "  ", ", ", ". ", "\n\n", "-", ".", "/", "_", "@", "[", "=", "'", "é", ""]
# Greek ypogegrammeni: NFKD reorders it, so a text holding it has no exact normalised stream
# and the gazetteer looks up every n-gram, as it did before the automaton.
NO_STREAM = "\n\nᾳ"

texts = st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), max_size=40).map(
    lambda parts: "".join(piece + gap for piece, gap in parts)
)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_automaton_finds_what_every_ngram_finds(text: str) -> None:
    gazetteer = Gazetteer(ENTRIES, common_words={"beacon"}, place_words={"Cuba"})
    assert gazetteer.find(text) == gazetteer.find(text + NO_STREAM)


def test_names_found_across_spellings_and_non_ascii() -> None:
    gazetteer = Gazetteer(ENTRIES)
    text = "APT 41 and the Lazarus Group used CobaltStrike; the Café Loader came from the UK."
    found = {(m.key, m.text) for m in gazetteer.find(text)}
    assert found == {
        ("apt41", "APT 41"),
        ("lazarus", "Lazarus Group"),
        ("cs", "CobaltStrike"),
        ("sechs", "Café Loader"),
        ("GB", "UK"),
    }


def test_only_candidate_ngrams_are_normalised() -> None:
    """20,000 words without a name: the old loop normalised six n-grams per token (120,000
    calls); only spans the automaton matched are normalised now."""
    gazetteer = Gazetteer(ENTRIES)
    text = " ".join(f"word{i} other" for i in range(10_000)) + " Mimikatz."
    normalise_name.cache_clear()
    mentions = gazetteer.find(text)
    assert [m.key for m in mentions] == ["mimikatz"]
    calls = normalise_name.cache_info()
    assert calls.hits + calls.misses < 10


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aZ9._-' \n/\\@[]:=$%é\x00\ud800😀", max_size=30))
def test_token_spans_are_the_token_regex(text: str) -> None:
    starts, ends = token_spans(text_codes(text))
    spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
    assert spans == [match.span() for match in _TOKEN.finditer(text)]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="abZ9._-' \n/\\@[]:=$%é", max_size=30))
def test_prose_lower_words_are_unglued_lower_case_tokens(text: str) -> None:
    expected = set()
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        word = text[start:end]
        glued = (start > 0 and text[start - 1] in _GLUED_BEFORE) or (
            end < len(text) and text[end] in _GLUED_AFTER
        )
        if re.fullmatch("[a-z]+", word) and not glued:
            expected.add(word)
    assert _prose_lower_words(text) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aZ9 .-_é\u00e9ﬁ中😀Ж\x7f\x80\u0301", max_size=30))
def test_normalised_stream_is_each_character_normalised(text: str) -> None:
    stream = _Stream.of(text, text_codes(text))
    assert stream is not None
    assert stream.normalised == "".join(normalise_name(char) for char in text)
    assert [
        normalise_name(text[i]) for i in stream.source.tolist()
    ] == [normalise_name(text[i]) for i in range(len(text)) for _ in normalise_name(text[i])]
