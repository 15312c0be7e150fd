"""`extract` stays linear on hostile text (issue 11, item 2 and its class), and never crashes.

Each generator builds an input of about n characters that made one parser of `extract/` (or of
the attribution rules that read its output) super-linear before: runs of closers, nests of
defanged brackets, long paths behind many hosts, deep HTML, unclosed markup, long sentences.
`assert_linear` compares n with 4n.

The fuzz test runs THREATSCOPE_FUZZ_EXAMPLES examples (300 by default, for CI); a long run:
    THREATSCOPE_FUZZ_EXAMPLES=30000 pytest tests/test_extract_bounded.py -k fuzz --hypothesis-seed=1
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatscope.attribution.named import named_actors
from threatscope.attribution.victims import victim_countries
from threatscope.errors import InputError
from threatscope.extract import IocType, extract_iocs, refang, stix_pattern, unique_iocs
from threatscope.extract.entities import _NOT_PROSE, find_entities
from threatscope.extract.gazetteer import Entry, Gazetteer, sentences
from threatscope.extract.refang import _BRACKETED_AT, _BRACKETED_DOT, _DEFANG_HINT, _SCHEMES
from threatscope.extract.techniques_text import explicit_ids, split_sentences
from threatscope.extract.text import _html_text, read_text
from timing import assert_linear


def _iocs(text: str) -> object:
    return extract_iocs(text, warninglists_check=False)


def _prose(text: str) -> object:
    return _NOT_PROSE.sub(" ", text)


_GAZETTEER = Gazetteer(
    [
        Entry("malware", "malware--m", "Mimikatz", "Mimikatz"),
        Entry("tool", "tool--a", "Agent", "Agent"),  # an ordinary word: needs a list neighbour
        Entry("actor", "actor--apt28", "APT28", "APT28"),
        Entry("country", "FR", "France", "France"),
    ],
    common_words={"agent"},
)

# name -> (parser, generator of about n characters)
GENERATORS: dict[str, tuple[Callable[[str], object], Callable[[int], str]]] = {
    # iocs._trim recounted brackets for every trailing closer (issue: 100k closers, 6.2 s)
    "url then closers": (_iocs, lambda n: "http://a.com/" + ")" * n),
    "host path then closers": (_iocs, lambda n: "a.com/" + ")" * n),
    "url then mixed closers": (_iocs, lambda n: "http://a.com/x" + ")]}>" * (n // 4)),
    # every host inside one long path re-read the path to its end
    "hosts in one path": (_iocs, lambda n: "x.zz/" * (n // 5)),
    "hosts in one path, closers": (_iocs, lambda n: "x.zz/)" * (n // 6)),
    "ips in one path": (_iocs, lambda n: "1.2.3.4/24)" * (n // 11)),
    # issue 12 item 4: the search inside URL paths and parameters, percent-decoding, ASN forms
    "domains in one path": (_iocs, lambda n: "a.com/" * (n // 6)),
    "nested urls in one path": (_iocs, lambda n: "http://a.com/" * (n // 13)),
    "redirect chain in a query": (_iocs, lambda n: "http://a.com/?u=" * (n // 16)),
    "hosts in one query": (_iocs, lambda n: "http://a.com/?" + "q=b.com&" * (n // 8)),
    "encoded urls in one query": (
        _iocs,
        lambda n: "http://a.com/?u=" + "http%3A%2F%2Fb.com%2F" * (n // 21),
    ),
    "percent escapes of escapes": (_iocs, lambda n: "http://a.com/?u=" + "%25" * (n // 3)),
    "as before numbers": (_iocs, lambda n: "routed as 1 " * (n // 12)),
    "spaced cve prefixes": (_iocs, lambda n: "CVE 2024-1234 " * (n // 14)),
    "ip-literal e-mails": (_iocs, lambda n: "a@[1.2.3.4]" * (n // 11)),
    # refang substituted once per nesting level
    "url with escaped dot": (_iocs, lambda n: "http://a.com/" + "\\" * n + "[.]"),
    "whitespace run": (_iocs, lambda n: "a.com" + " " * n + "b.com"),
    "defanged dots": (_iocs, lambda n: "a[.]" * (n // 4)),
    "windows path": (_iocs, lambda n: "C:\\" + "a A\\" * (n // 4)),
    "dotted words": (_iocs, lambda n: "x.y " * (n // 4)),
    "refang backslashes": (refang, lambda n: "\\" * n + "[.]"),
    "refang spaced nest": (refang, lambda n: "[ " * (n // 4) + "[.]" + " ]" * (n // 4)),
    "refang bracket runs": (refang, lambda n: "[(" * (n // 4) + "." + ")]" * (n // 4)),
    # HTML tree construction is quadratic in nesting (issue: 200k <div>, 184 s)
    "html unclosed div": (_html_text, lambda n: "<div>" * (n // 5) + "x"),
    "html closed div": (_html_text, lambda n: "<div>" * (n // 11) + "x" + "</div>" * (n // 11)),
    "html unclosed p": (_html_text, lambda n: "<p>" * (n // 3) + "x"),
    "html formatting": (_html_text, lambda n: "<b><i></b></i>" * (n // 14)),
    "html unclosed tag": (_html_text, lambda n: "<a" * (n // 2)),
    # entities: ATT&CK prose filters on descriptions a bundle may bring
    "prose filter citations": (_prose, lambda n: "(Citation:" * (n // 10)),
    "prose filter links": (_prose, lambda n: "[" * n),
    "prose filter link targets": (_prose, lambda n: "[a](" * (n // 4)),
    "prose filter code": (_prose, lambda n: "<code>" * (n // 6)),
    # gazetteer: the sentence of every mention was looked up by a scan of all sentences, and
    # list vouching compared every pending name with every software name, round after round
    "mentions in many sentences": (_GAZETTEER.find, lambda n: "APT28 did. " * (n // 11)),
    "mentions in one sentence": (_GAZETTEER.find, lambda n: "APT28 and " * (n // 10)),
    "a list vouched from its end": (_GAZETTEER.find, lambda n: "Agent, " * (n // 7) + "Mimikatz"),
    "sentence ends": (lambda s: list(sentences(s)), lambda n: "\n" + " " * n),
    "sentence splitting": (lambda s: list(split_sentences(s)), lambda n: "a." + ")" * n + "b"),
    "explicit technique ids": (
        lambda s: list(explicit_ids(s, {"T1059"})),
        lambda n: "T1059." * (n // 6),
    ),
}


# Inputs whose small size runs too fast to time reliably on a shared machine.
_LARGER = {
    "refang backslashes": 200_000,
    "url with escaped dot": 200_000,
    "domains in one path": 200_000,
    "nested urls in one path": 200_000,
    "redirect chain in a query": 200_000,
    "encoded urls in one query": 100_000,
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_extract_parsers_are_linear(name: str) -> None:
    work, make = GENERATORS[name]
    assert_linear(work, make, _LARGER.get(name, 20_000))


def test_the_issue_repro_of_a_million_closers_finishes_with_the_url() -> None:
    """Issue 11: "http://a.com/" + ")" * 1,000,000 ran past 120 s."""
    found = _iocs("http://a.com/" + ")" * 1_000_000)
    assert [(i.type, i.value) for i in found] == [
        (IocType.URL, "http://a.com/"),
        (IocType.DOMAIN, "a.com"),
    ]


def test_hosts_in_one_long_path_still_give_the_url() -> None:
    text = "see a.com/" + "x.zz/" * 20_000 + " then"
    (url,) = [i for i in _iocs(text) if i.type is IocType.URL]
    assert url.value == "a.com/" + "x.zz/" * 20_000
    assert [i.value for i in _iocs("net 10.0.0.0/8. and 10.1.2.3/16) b")] == [
        "10.0.0.0/8",
        "10.1.2.3/16",
    ]


def test_a_deep_html_nest_keeps_its_words_and_shallow_html_is_untouched(tmp_path: Path) -> None:
    deep = "<div>" * 100_000 + "C2 evil[.]com" + "</div>" * 100_000
    assert _html_text(deep).split() == ["C2", "evil[.]com"]
    shallow = "<div>" * 200 + "<p>a.b</p><p>c</p>" + "</div>" * 200
    assert _html_text(shallow) == "a.b\n" + "c\n" + "\n" * 200


def test_a_long_sentence_gives_each_mention_its_own_context() -> None:
    text = "Mimikatz was seen " + "and more " * 2000 + "then APT28 hit France"
    mentions = _GAZETTEER.find(text)
    assert [m.text for m in mentions] == ["Mimikatz", "APT28", "France"]
    assert mentions[0].sentence.startswith("Mimikatz was seen and more")
    assert mentions[-1].sentence.endswith("then APT28 hit France")
    assert max(len(m.sentence) for m in mentions) <= 1100


# --- refang: one pass gives what substituting until nothing changes gave ----------------------

_DEFANGED_BEFORE = re.compile(
    rf"""
      (?P<dot>\x20?{_BRACKETED_DOT}\x20?|\\\.)
    | (?P<at>\x20?{_BRACKETED_AT}\x20?)
    | [\[\(\{{]+(?P<separator>:|/+|://)[\]\)\}}]+
    | \b(?P<scheme>h(?:xx|\*\*|xt|tx)p|fxp)(?P<secure>s?)(?=:|[\[\(\{{]+:)
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _substituted(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind in ("dot", "at"):
        return "." if kind == "dot" else "@"
    if kind == "separator":
        return match.group("separator")
    return _SCHEMES[match.group("scheme")[0].lower()] + match.group("secure").lower()


def _refang_until_unchanged(text: str) -> str:
    """The definition `refang` had before: substitute every defanged form until none is left."""
    while _DEFANG_HINT.search(text) is not None:
        refanged = _DEFANGED_BEFORE.sub(_substituted, text)
        if refanged == text:
            break
        text = refanged
    return text


_DEFANG_PIECES = st.sampled_from(
    [*"[](){}.:/\\@ aAtTdDoOhxpsfX*-", "[.]", "(dot)", "[at]", "hxxp", "://", " [", "] "]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_DEFANG_PIECES, max_size=30).map("".join))
def test_refang_in_one_pass_equals_substituting_until_unchanged(text: str) -> None:
    assert refang(text) == _refang_until_unchanged(text)


def test_refang_of_nests() -> None:
    assert refang("[ [ [.] ] ]") == "."
    assert refang("\\\\\\\\[.]") == "."
    assert refang("a [.[.]] b") == _refang_until_unchanged("a [.[.]] b") == "a [..b"
    assert refang("hxxp[:]//evil [dot] com") == "http://evil.com"


# --- fuzz: whatever the text, extract answers or refuses with an InputError -------------------

_FUZZ_EXAMPLES = int(os.environ.get("THREATSCOPE_FUZZ_EXAMPLES", "300"))
_PIECES = st.sampled_from(
    [
        *"abcxyzAPT0123456789.:/\\@[](){}<>-_ \n\t\r\f\x00\x1b\u200b\u202e\"'`~%&;,!?*#|",
        "[.]", "(.)", "{.}", "[dot]", "(dot)", "[at]", "(@)", "[:]", "[://]", "hxxp", "hXXps",
        "fxp", "://", "http://", "www.", ".com", ".exe", "C:\\", "HKLM\\", "/etc/", "~/",
        "CVE-2024-1234", "AS15169", "T1059.001", "1.2.3.4", "::1",
        "d41d8cd98f00b204e9800998ecf8427e",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "<div>", "</div>", "<p>", "<script>",
        "</script>", "<!--", "-->", "<a href='", "&amp;", "&#", "(Citation:", "<code>",
        "Mimikatz", "Agent", "APT28", "France", " and ", ", ", "linked to ", " targeted ", ". ",
    ]
)  # fmt: skip


@settings(
    max_examples=_FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(st.lists(_PIECES, max_size=80).map("".join), st.text(max_size=300)),
    st.sampled_from([".txt", ".md", ".html"]),
)
def test_fuzz_extract_never_fails_but_with_input_error(
    tmp_path: Path, text: str, suffix: str
) -> None:
    """The steps of `extract` on a report file, with a small gazetteer (building the real one
    takes seconds): read, indicators with STIX patterns, entities, victims and named actors."""
    path = tmp_path / f"report{suffix}"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        content = read_text(path)
    except InputError:
        return
    iocs = extract_iocs(content, warninglists_check=False)
    for ioc in iocs:
        assert content[ioc.start : ioc.end] == ioc.raw
        stix_pattern(ioc)
    unique_iocs(iocs)
    entities = find_entities(_GAZETTEER, content)
    victim_countries(entities["countries"])
    named_actors(entities["actors"])
    list(split_sentences(content))
    list(explicit_ids(content, {"T1059", "T1059.001"}))
