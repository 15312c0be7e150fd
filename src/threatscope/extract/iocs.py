"""Indicators of compromise in report text: where they are, what they are, who lists them.

Two compiled regexes do the finding. Python's regex engine pays about 50 ns for every position
at which it tries a pattern that starts with a lookaround, but skips quickly over characters
that cannot start a pattern beginning with a character class. So `_ANCHOR`, which begins with
one, jumps to the few places that every indicator contains (a dot between word characters, a
backslash, "@", "://", a defanged bracket, a digit followed by a long alphanumeric run, ...),
and `_SCANNER`, which knows every indicator type, runs only on the whitespace-delimited token
around each anchor. Candidates are then checked in Python (octet ranges, the Public Suffix List,
checksums); that runs only on the few thousand candidates a report holds.

Values are normalised (refanged, lowercase hosts and hashes, full registry hive names) and
`raw` keeps the text as written; `start`/`end` index the input, so `text[start:end] == raw`.
Overlaps are deliberate: a URL yields its host as a domain or IP too, an e-mail address its
domain, hashes written inside a URL (sandbox links) are reported on their own, and so are the
hosts, URLs and addresses a URL's path or parameters carry (redirect targets, percent-encoded
or not). An indicator inside another one's span belongs to it.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from threatscope.extract import hostnames, warninglists
from threatscope.extract.refang import AT, DOT, refang
from threatscope.extract.wallets import is_base58check_address, is_bech32_address

__all__ = ["Ioc", "IocType", "extract_iocs", "unique_iocs"]


class IocType(StrEnum):
    IPV4 = "ipv4"  # value may be a CIDR block, as in STIX ipv4-addr
    IPV6 = "ipv6"
    DOMAIN = "domain"
    URL = "url"
    EMAIL = "email"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"
    CVE = "cve"
    REGISTRY_KEY = "registry-key"
    FILE_PATH = "file-path"
    FILE_NAME = "file-name"
    BITCOIN = "bitcoin"
    ETHEREUM = "ethereum"
    MONERO = "monero"
    ASN = "asn"


@dataclass(frozen=True, slots=True)
class Ioc:
    type: IocType
    value: str  # normalised
    raw: str  # as written: text[start:end]
    start: int
    end: int
    warninglists: tuple[str, ...] = ()  # names of the MISP warning lists that hold the value


_HASH_TYPES = {32: IocType.MD5, 40: IocType.SHA1, 64: IocType.SHA256, 128: IocType.SHA512}
_WARNING_CATEGORIES = {
    IocType.IPV4: "ip",
    IocType.IPV6: "ip",
    IocType.DOMAIN: "domain",
    IocType.URL: "url",
    IocType.EMAIL: "email",
    IocType.MD5: "md5",
    IocType.SHA1: "sha1",
    IocType.SHA256: "sha256",
    IocType.SHA512: "sha512",
}
_HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKCU": "HKEY_CURRENT_USER",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKU": "HKEY_USERS",
    "HKCC": "HKEY_CURRENT_CONFIG",
}

_B58 = "1-9A-HJ-NP-Za-km-z"
# A path component: no separators, blanks, quotes, or characters Windows forbids in names. Inner
# components may hold single spaces before a capital or digit ("Program Files", "Windows NT").
# Backticks are Markdown's code quotes (`C:\\x\\msdrm.exe`), not part of a name.
_SEG = r"[^\\\s\"'`<>|*?,;:\u201c\u201d\u2018\u2019]+"
_SEGS = rf"{_SEG}(?:\x20[A-Z0-9(]{_SEG[:-1]}*)*"
_UNIX_ROOTS = (
    "etc|tmp|var|usr|home|bin|sbin|opt|dev|proc|root|lib|lib32|lib64|boot|mnt|srv|run|sys|media"
    "|Users|Library|System|Applications|private|Volumes"
)
_SCANNER = re.compile(
    rf"""
    (?<!\w)(?=[\w%~/\\:])  # a word start, a path's first character, or IPv6's "::"
    (?:
      (?P<url>(?<![.-])
        (?i:h(?:tt|xx|\*\*|xt|tx)ps?|f[tx]ps?|sftp)
        (?:(?:\[:\]|\(:\)|:)(?://|\[//\]|\\\\)|\[://\])
        (?P<authority>[^\s<>"'`\u201c\u201d\u2018\u2019]+))
    | (?P<registry>(?i:HKEY_LOCAL_MACHINE|HKEY_CURRENT_USER|HKEY_CLASSES_ROOT|HKEY_USERS
        |HKEY_CURRENT_CONFIG|HKLM|HKCU|HKCR|HKU|HKCC):?(?:\\{_SEGS}(?=\\))*\\{_SEG})
    | (?P<winpath>(?<![\\/])(?:[A-Za-z]:\\|\\\\[A-Za-z0-9][\w.$-]*\\{_SEG}\\|%[A-Za-z_]\w*%\\)
        (?:{_SEGS}\\)*(?:{_SEG})?)
    | (?P<unixpath>(?<![/.~:-])(?:~|/(?:{_UNIX_ROOTS}))(?:/[\w.+@%=~-]+)+/?)
    | (?P<cve>(?<!-)(?i:cve)[-\u2010-\u2013\x20]\d{{4}}[-\u2010-\u2013]\d{{4,7}}(?![\w-]))
    | (?P<asn>(?i:as)(?:(?i:n)\x20?|\x20)?\d{{1,10}}(?![\w-]|\.\d))
    | (?P<ethereum>0x[0-9A-Fa-f]{{40}}(?!\w))
    | (?P<bech32>(?:bc1|BC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{{11,71}}(?!\w))
    | (?P<ipv6>(?<![:.-])(?=[0-9A-Fa-f]{{0,4}}:[0-9A-Fa-f]{{0,4}}:)[0-9A-Fa-f:]{{2,39}}
        (?:(?<=:)\d{{1,3}}(?:\.\d{{1,3}}){{3}})?(?:/\d{{1,3}})?(?![\w:]|\.\d))
    | (?P<hash>[0-9A-Fa-f]{{32,128}}(?!\w))
    | (?P<bitcoin>[13][{_B58}]{{25,34}}(?!\w))
    | (?P<monero>[48][0-9AB][{_B58}]{{93}}(?:[{_B58}]{{11}})?(?!\w))
    | (?P<literal>(?<![.+%@-])[\w.+%-]++{AT}
        \[(?:(?i:ipv6):[0-9A-Fa-f:.]{{2,45}}|[0-9.]{{7,15}})\])
    | (?P<host>(?<![.+%@-])
        (?=[\w+%-]*+(?:[.\\@\[\(\{{]|\x20[\[\(\{{]))  # cheap: a separator must follow
        (?:(?P<local>[\w.+%-]++){AT})?
        [\w-]++(?:{DOT}[\w-]++)++)
      (?P<tail>(?::\d{{1,5}})?/[^\s<>"'`\u201c\u201d\u2018\u2019]*)?
    )
    """,
    re.VERBOSE,
)
_UNIX_ROOT_ANCHOR = _UNIX_ROOTS.replace("|", "/|") + "/"
# Where indicators can be: each alternative holds for some character of every indicator of the
# types it serves. The leading character class is what makes the search fast (see above).
_ANCHOR = re.compile(
    rf"""
    [.\\@:\[\(\{{/~0-9]
    (?:
      (?<=\w\.)\w                                  # host, IPv4, file name, e-mail
    | (?<=\\)                                      # paths, registry keys, "evil\.com"
    | (?<=\w@)                                      # e-mail
    | (?<=[\[\(\{{])(?:[.@:/]|[dD][oO][tT]|[aA][tT])  # defanged separators
    | (?<=:)(?://|\\\\|[0-9A-Fa-f]{{0,4}}:)          # URL, IPv6
    | (?<![\w/.:~-]/)(?:{_UNIX_ROOT_ANCHOR})        # Unix paths
    | (?<=~)/
    | (?<=[0-9])(?=[0-9A-Fa-f]{{7}})                # hashes (and ethereum)
    | (?<=[1348])(?<!\w.)(?=[{_B58}]{{24}})          # bitcoin, monero
    | (?<=[bB][cC]1)                                # bech32
    | (?<=[Cc][Vv][Ee][-\u2010-\u2013\x20][0-9])    # CVE
    | (?<=[Aa][Ss][0-9])|(?<=[Aa][Ss][Nn][0-9])     # ASN
    | (?<=[Aa][Ss]\x20[0-9])|(?<=[Aa][Ss][Nn]\x20[0-9])
    )
    """,
    re.VERBOSE,
)
# Every indicator has an anchor among its first 160 characters (the longest run before one is
# an e-mail's local part or a hash's leading letters), so no window needs to start earlier.
_FIRST_ANCHOR_WITHIN = 160
# What the search inside a URL reports; the URL itself already stands for its file names.
_INSIDE_URL_TYPES = frozenset(
    {IocType.URL, IocType.DOMAIN, IocType.IPV4, IocType.IPV6, IocType.EMAIL}
)
# Server-side page endings that are also TLDs (Struts `.do`, `.action`; `.ph` cut from `.php`).
_PAGE_EXTENSIONS = frozenset({"do", "action", "ph", "cfm", "nsf", "pl", "ai", "ps"})
# What every indicator `_inside_piece` keeps contains: "//", "@", an escape, a dotted name
# followed by "/" or a port, or a dotted or IPv6 value of a parameter. A cheap test first.
_INSIDE_HINT = re.compile(
    r"//|@|%[0-7][0-9A-Fa-f]|\.[\]\)\}]?[\w-]*[/:]|[=?][\w-]*(?:[.:]|[\[\(\{][.d])"
)
_PARAM_SEPARATOR = re.compile(r"[&;#]")
_ESCAPE = re.compile(r"%([0-7][0-9A-Fa-f])")
_TOKEN_END = re.compile(r"\S{0,1024}")
# Words that make "as 1234" an autonomous system; only the current sentence counts.
_ASN_CONTEXT = re.compile(
    r"\b(?:autonomous\s+systems?|asns?|as\s+numbers?|bgp|announced|announces|routed|routes"
    r"|peering|upstream|transit|prefix(?:es)?)\b[^.!?\n]*\Z",
    re.IGNORECASE,
)
_SPACED_PREFIX = re.compile(r"(?<!\w)(?i:asn?|cve)\x20\Z")
_UNBOUNDED = frozenset({"registry", "winpath"})
# Starts with a character class, not a lookbehind, so that the engine skips non-hex quickly.
_HASH = re.compile(r"[0-9A-Fa-f](?<!\w.)[0-9A-Fa-f]{31,127}(?!\w)")
_URL_HOST = re.compile(rf"(?:[^\s/@\[\]]*{AT})?(?P<host>\[[0-9A-Fa-f:.]+\]|[\w-]+(?:{DOT}[\w-]+)*)")
_AT_SPLIT = re.compile(AT)
_AUTHORITY_END = re.compile(r"[/?#]")
_CIDR_SUFFIX = re.compile(r"/(\d{1,2})(?![\w./])")
_CIDR_BEFORE_DOT = re.compile(r"/\d{1,2}\.")
_TAIL_RUN = re.compile("[^\\s<>\"'`\u201c\u201d\u2018\u2019]*")
_TRAILING = ".,;:!?'\")]}>*`\u201c\u201d\u2018\u2019"
_TRAILING_RUN = re.compile(f"[{re.escape(_TRAILING)}]*")


def _run_end(run: re.Pattern[str], text: str, pos: int, endpos: int = sys.maxsize) -> int:
    """Where a run of `run` from `pos` ends; the run patterns above (_TOKEN_END, _TAIL_RUN,
    _TRAILING_RUN) also match the empty string, so they match at every position."""
    match = run.match(text, pos, endpos)
    assert match is not None
    return match.end()
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


def extract_iocs(text: str, *, warninglists_check: bool = True) -> list[Ioc]:
    """Every indicator in `text`, ordered by start offset (then longest first, then type).

    With `warninglists_check`, each indicator carries the names of the MISP warning lists that
    hold its value; the first call then loads the lists (about two seconds, once per process).
    """
    found = _find(text, look_inside_urls=True)
    found.sort(key=lambda ioc: (ioc.start, -ioc.end, ioc.type))
    if not warninglists_check:
        return found
    return [_flagged(ioc) for ioc in found]


class _Found(list[Ioc]):
    """The indicators found so far, and whether URLs found are searched for more inside."""

    def __init__(self, *, look_inside_urls: bool) -> None:
        super().__init__()
        self.look_inside_urls = look_inside_urls


def _find(text: str, *, look_inside_urls: bool) -> _Found:
    found = _Found(look_inside_urls=look_inside_urls)
    pos = 0
    anchor_search = _ANCHOR.search
    tails = _TailEnds(text)
    while (anchor := anchor_search(text, pos)) is not None:
        at = anchor.start()
        start, end = _token(text, at, pos)
        pos = max(_scan(text, start, end, found, tails), at + 1)
    return found


def _inside_url(text: str, start: int, end: int, found: list[Ioc]) -> None:
    """Hosts, URLs and e-mail addresses in the path and query text[start:end] of a URL.

    Redirectors and trackers carry the real target there (`/out?url=http%3A%2F%2Fevil.example`,
    `/web/2020/http://evil.example/`, `?q=evil.example`). The query is searched one parameter
    at a time, so a nested URL ends where its parameter does, and each piece is searched
    percent-decoded when it holds escapes. File names in paths ("gate.php") are not reported;
    hashes in paths have `_hashes_inside`. The search inside does not search inside again, so
    every character is read at most twice: linear time however URLs nest.
    """
    if not getattr(found, "look_inside_urls", False) or end - start < 4:
        return
    query = text.find("?", start, end)
    cuts = [start, query] if query >= 0 else [start]
    if query >= 0:
        cuts.extend(m.start() for m in _PARAM_SEPARATOR.finditer(text, query + 1, end))
    cuts.append(end)
    for lo, hi in itertools.pairwise(cuts):
        if hi - lo >= 4:
            _inside_piece(text, lo, hi, found)


def _inside_piece(text: str, start: int, end: int, found: list[Ioc]) -> None:
    if _INSIDE_HINT.search(text, start, end) is None:
        return  # most paths: nothing `_host_in_url` could keep
    piece = text[start:end]
    origins: list[int] | None = None
    if "%" in piece:
        piece, origins = _percent_decoded(piece)
    dropped: set[int] = set()  # starts of hosts that are file names: their URLs go too
    for ioc in _find(piece, look_inside_urls=False):
        if ioc.type not in _INSIDE_URL_TYPES or ioc.start in dropped:
            continue
        if ioc.type in (IocType.DOMAIN, IocType.IPV4) and not _host_in_url(piece, ioc):
            dropped.add(ioc.start)
            continue
        if origins is None:
            lo, hi = start + ioc.start, start + ioc.end
        else:
            lo, hi = start + origins[ioc.start], start + origins[ioc.end]
        found.append(Ioc(ioc.type, ioc.value, text[lo:hi], lo, hi))


def _host_in_url(piece: str, host: Ioc) -> bool:
    """Whether a domain or IPv4 address found in a URL's path or query names a host there.

    One after "//" or "@" does (a nested URL or address), and so does one followed by "/" or
    a port. Any other must start a query value (`?q=evil.com`), and not end like a file or a
    web page (`ALJABER-RFQ[.]zip`, `newsView.do`, `last.ph` cut from `last.php`): path
    segments are mostly file names, whatever their last label is also a TLD of.
    """
    before = piece[max(0, host.start - 2) : host.start]
    if before == "//" or before.endswith("@"):
        return True
    if piece.startswith(("/", ":"), host.end):
        return True
    if not before.endswith(("=", "?")):
        return False
    extension = host.value.rpartition(".")[2].lower()
    return extension not in hostnames.FILE_EXTENSIONS and extension not in _PAGE_EXTENSIONS


def _percent_decoded(piece: str) -> tuple[str, list[int]]:
    """`piece` with ASCII %XX escapes decoded, up to three times over (double-encoded
    redirects), and for each decoded character (and the end) its offset in `piece`."""
    origins = list(range(len(piece) + 1))
    for _ in range(3):
        if _ESCAPE.search(piece) is None:
            break
        chars: list[str] = []
        new_origins: list[int] = []
        i = 0
        for escape in _ESCAPE.finditer(piece):
            chars.append(piece[i : escape.start()])
            new_origins.extend(origins[i : escape.start()])
            chars.append(chr(int(escape.group(1), 16)))
            new_origins.append(origins[escape.start()])
            i = escape.end()
        chars.append(piece[i:])
        new_origins.extend(origins[i:])
        piece, origins = "".join(chars), new_origins
    return piece, origins


def _token(text: str, at: int, floor: int) -> tuple[int, int]:
    """The whitespace-delimited token around `at`, not starting before `floor`.

    Defanged separators are sometimes spaced out ("evil [.] com"), and some prefixes stand a
    blank before their number ("ASN 15169", "as 15169", "CVE 2024-1234"): a token that starts
    or ends with such a piece takes in its neighbour.
    """
    lo = at - _FIRST_ANCHOR_WITHIN
    if lo < floor:
        lo = floor
    start = max(text.rfind(" ", lo, at), text.rfind("\n", lo, at), text.rfind("\t", lo, at)) + 1
    if start < lo:
        start = lo
    if start >= 2 and text[start - 1] == " " and floor < start - 1:
        if text[start] in "[({":
            start = max(text.rfind(" ", lo, start - 1), text.rfind("\n", lo, start - 1)) + 1
            start = max(start, lo)
        elif text[start - 2] in "sSnNeE":  # the last letter of "as", "asn", "cve"
            word = _SPACED_PREFIX.search(text, max(floor, start - 5), start)
            if word is not None:
                start = word.start()
    end = _run_end(_TOKEN_END, text, at)
    for _ in range(4):  # "bad [at] evil [dot] com"
        if not text.startswith(" ", end):
            break
        if text[end - 1] not in ")]}" and not text.startswith(("[", "(", "{"), end + 1):
            break
        end = _run_end(_TOKEN_END, text, end + 1)
    return start, end


class _TailEnds:
    """Where the run of URL-path characters from a position ends, remembered for one text.

    Every position inside one run shares that run's end, so successive anchors inside one long
    path ("a.bc/a.bc/a.bc/..." without a blank) find it without scanning the run again.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._from = self._to = -1

    def end(self, pos: int) -> int:
        if not self._from <= pos <= self._to:
            self._from, self._to = pos, _run_end(_TAIL_RUN, self._text, pos)
        return self._to


def _scan(text: str, start: int, end: int, found: list[Ioc], tails: _TailEnds) -> int:
    """Handle the first indicator starting in text[start:end]; return where to resume.

    Any further indicator in the token has an anchor of its own, so one search is enough. The
    search is confined to the token; a match that may depend on that limit is redone without
    it: paths and registry keys run on past blanks ("C:\\Program Files\\..."), and any match
    may peek two characters beyond its end. A host whose path alone reaches the limit keeps its
    match, the path running on to the end of its run: redoing the match would scan that run
    again for every host inside it.
    """
    match = _SCANNER.search(text, start, end)
    if match is None:
        return end
    kind = match.lastgroup
    tail_start = match.start("tail")
    if kind == "tail" and match.end() >= end - 2 and tail_start >= 0 and tail_start + 8 < end:
        slash = text.find("/", tail_start, tail_start + 7)  # after a port of at most 5 digits
        if 0 <= slash < end - 3:
            tail_end = tails.end(match.end())
            return max(_on_host(text, match, found, tail_end), match.start() + 1)
    if kind in _UNBOUNDED or match.end() >= end - 2:
        unbounded = _SCANNER.match(text, match.start())
        if unbounded is None:
            return match.start() + 1
        match = unbounded
        kind = match.lastgroup
    if kind == "tail":  # the host group closed last; the tail is part of that alternative
        kind = "host"
    assert kind is not None  # every alternative of _SCANNER is a named group
    return max(_HANDLERS[kind](text, match, found), match.start() + 1)


def unique_iocs(iocs: Iterable[Ioc]) -> list[Ioc]:
    """The first of each (type, value), in the order given."""
    seen: set[tuple[IocType, str]] = set()
    unique: list[Ioc] = []
    for ioc in iocs:
        key = (ioc.type, ioc.value)
        if key not in seen:
            seen.add(key)
            unique.append(ioc)
    return unique


def _flagged(ioc: Ioc) -> Ioc:
    category = _WARNING_CATEGORIES.get(ioc.type)
    if category is None:
        return ioc
    names = warninglists.lookup(category, ioc.value)
    if not names:
        return ioc
    return Ioc(ioc.type, ioc.value, ioc.raw, ioc.start, ioc.end, names)


def _emit(found: list[Ioc], text: str, kind: IocType, value: str, start: int, end: int) -> None:
    found.append(Ioc(kind, value, text[start:end], start, end))


def _trim(text: str, start: int, end: int) -> int:
    """`end` moved back over trailing punctuation and unbalanced closing brackets.

    A closer is kept when text[start:end] holds at least as many of its openers. Each bracket
    kind is counted once and the closer count follows `end` down, so a run of closers costs one
    pass, not one count per closer (issue 11: "a.com/" + ")" * 100_000 took 6 s).
    """
    counts: dict[str, list[int]] = {}  # closer -> [openers, closers] in text[start:end]
    while end > start:
        last = text[end - 1]
        if last not in _TRAILING:
            return end
        opener = _CLOSERS.get(last)
        if opener is not None:
            count = counts.get(last)
            if count is None:
                count = [text.count(opener, start, end), text.count(last, start, end)]
                counts[last] = count
            if count[0] >= count[1]:
                return end
            count[1] -= 1
        end -= 1
    return end


def _on_url(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    start, end = match.start(), _trim(text, match.start(), match.end())
    authority = match.start("authority")
    host_match = _URL_HOST.match(text, authority, end)
    if host_match is None:
        return match.end()
    host_start, host_end = host_match.span("host")
    host = _host(text, host_start, host_end, in_url=True)
    if host is None:
        return match.end()
    raw = text[start:end]
    refanged = refang(raw)
    scheme, sep, rest = refanged.partition("://")
    if not sep:  # "http:\\host", written with backslashes
        scheme, sep, rest = refanged.partition(":\\\\")
        sep = "://"
    cut = _AUTHORITY_END.search(rest)
    split = cut.start() if cut is not None else len(rest)
    value = f"{scheme.lower()}{sep}{rest[:split].lower()}{rest[split:]}"
    _emit(found, text, IocType.URL, value, start, end)
    found.append(host)
    if end - host_end >= 32:
        _hashes_inside(text, host_end, end, found)
    _inside_url(text, host_end, end, found)
    return end


def _hashes_inside(text: str, start: int, end: int, found: list[Ioc]) -> None:
    for match in _HASH.finditer(text, start, end):
        kind = _HASH_TYPES.get(match.end() - match.start())
        if kind is not None:
            _emit(found, text, kind, match.group().lower(), match.start(), match.end())


def _host(text: str, start: int, end: int, *, in_url: bool) -> Ioc | None:
    """The IPv4 address, IPv6 address, domain or file name written in text[start:end]."""
    raw = text[start:end]
    if raw.startswith("["):
        return _ipv6(text, start + 1, end - 1)
    value = refang(raw)
    labels = value.split(".")
    if labels[-1].isdigit():
        if not hostnames.is_ipv4(labels) or hostnames.looks_like_version(text, start):
            return None
        return Ioc(IocType.IPV4, value, raw, start, end)
    kind = hostnames.file_or_domain(value, defanged=value != raw, in_url=in_url)
    if kind == "domain":
        return Ioc(IocType.DOMAIN, value.lower(), raw, start, end)
    if kind == "file-name":
        return Ioc(IocType.FILE_NAME, value, raw, start, end)
    return None


def _ipv6(text: str, start: int, end: int) -> Ioc | None:
    raw = text[start:end]
    address, slash, _ = raw.partition("/")
    if sum(1 for group in address.split(":") if group) < 2 or not any(c.isdigit() for c in address):
        return None  # "a::b", "dead::beef": more likely code than addresses
    try:
        if slash:
            value = ipaddress.IPv6Network(raw, strict=False).compressed
        else:
            parsed = ipaddress.IPv6Address(address)
            value = parsed.compressed
            if parsed.ipv4_mapped is not None:  # RFC 5952 5: the IPv4 part stays dotted
                value = f"::ffff:{parsed.ipv4_mapped}"
    except ValueError:
        return None
    return Ioc(IocType.IPV6, value, raw, start, end)


def _on_host(
    text: str, match: re.Match[str], found: list[Ioc], tail_end: int | None = None
) -> int:
    """A host, a host with a path (a URL), a CIDR block or an e-mail address.

    `tail_end`: where the path really ends when the match was cut short. Nothing here reads the
    path beyond its first characters unless a URL is emitted (and the scan resumes after it):
    a host that is no indicator must not cost a pass over the path behind it.
    """
    start, host_end = match.span("host")
    if match.group("local") is not None:
        return _on_email(text, match, found)
    tail_start = match.start("tail")
    if tail_end is None:
        tail_end = match.end("tail")
    # The trimmed path keeps a character after its first "/" exactly when one of them is not
    # trailing punctuation: trimming stops at the first such character from the end.
    slash = text.find("/", tail_start, tail_end) if tail_start >= 0 else -1
    has_path = slash >= 0 and _run_end(_TRAILING_RUN, text, slash + 1, tail_end) < tail_end
    host = _host(text, start, host_end, in_url=has_path)
    if host is None:
        return host_end  # the tail may hold an indicator of its own
    if host.type is IocType.IPV4 and tail_start >= 0:
        cidr = _CIDR_SUFFIX.match(text, tail_start, tail_end)
        if cidr is None and _CIDR_BEFORE_DOT.match(text, tail_start, tail_end):
            # "1.2.3.0/24." ends a sentence: the trimmed path ends right after the prefix.
            cidr = _CIDR_SUFFIX.match(text, tail_start, _trim(text, tail_start, tail_end))
        if cidr is not None and int(cidr.group(1)) <= 32:
            end = host_end + cidr.end() - cidr.start()
            _emit(found, text, IocType.IPV4, f"{host.value}{cidr.group()}", start, end)
            return end
    if has_path and host.type in (IocType.DOMAIN, IocType.IPV4):
        tail_end = _trim(text, tail_start, tail_end)
        raw = text[start:tail_end]
        value = host.value + refang(text[host_end:tail_end])
        found.append(Ioc(IocType.URL, value, raw, start, tail_end))
        found.append(host)
        _hashes_inside(text, host_end, tail_end, found)
        _inside_url(text, host_end, tail_end, found)
        return tail_end
    found.append(host)
    return host_end


def _on_email(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    start, end = match.span("host")
    local_end = match.end("local")
    at = _AT_SPLIT.match(text, local_end)
    assert at is not None  # the scanner matched AT right there
    local = text[start:local_end].strip(".")
    domain = refang(text[at.end() : end]).lower()
    if not local or not hostnames.is_domain(domain):
        return end
    lead = len(text[start:local_end]) - len(text[start:local_end].lstrip("."))
    start += lead
    found.append(Ioc(IocType.EMAIL, f"{local}@{domain}", text[start:end], start, end))
    # A sender's domain is an indicator of its own (block the domain, not one mailbox); its
    # span lies inside the address's, which is how a reader links the two.
    found.append(Ioc(IocType.DOMAIN, domain, text[at.end() : end], at.end(), end))
    return end


def _on_literal(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    """`user@[192.0.2.1]`, `user@[IPv6:2001:db8::1]`: an address whose domain is an IP literal
    (RFC 5321 4.1.3). The address and the IP are both reported."""
    start, end = match.span()
    bracket = text.rfind("[", start, end)
    at = _AT_SPLIT.search(text, start, bracket + 1)
    assert at is not None  # the scanner matched AT before the bracket
    local = text[start : at.start()].strip(".")
    literal = text[bracket + 1 : end - 1]
    address: Ioc | None
    if literal[:5].lower() == "ipv6:":
        address = _ipv6(text, bracket + 6, end - 1)
        shown = None if address is None else f"IPv6:{address.value}"
    else:
        address = None
        if hostnames.is_ipv4(literal.split(".")):
            address = Ioc(IocType.IPV4, literal, literal, bracket + 1, end - 1)
        shown = literal
    if address is None or not local or "/" in address.value:
        return end
    lead = len(text[start : at.start()]) - len(text[start : at.start()].lstrip("."))
    start += lead
    found.append(Ioc(IocType.EMAIL, f"{local}@[{shown}]", text[start:end], start, end))
    found.append(address)
    return end


def _on_registry(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    start, end = match.start(), _trim(text, match.start(), match.end())
    raw = text[start:end].rstrip("\\")
    hive, _, rest = raw.partition("\\")
    hive = hive.rstrip(":").upper()
    value = f"{_HIVES.get(hive, hive)}\\{rest}"
    _emit(found, text, IocType.REGISTRY_KEY, value, start, start + len(raw))
    return end


def _on_path(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    start, end = match.start(), _trim(text, match.start(), match.end())
    raw = text[start:end]
    # A drive or share alone ("C:\", "\\server\") names no file.
    if raw.rstrip("\\/").count("\\") + raw.count("/") >= 1 and len(raw.rstrip("\\/")) > 3:
        _emit(found, text, IocType.FILE_PATH, raw, start, end)
    return end


def _on_cve(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    raw = match.group()
    value = "CVE-" + raw[4:8] + "-" + raw[9:]
    _emit(found, text, IocType.CVE, value, match.start(), match.end())
    return match.end()


def _on_asn(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    """`AS13335`, `ASN 13335`, `asn13335` always; `AS 13335`, `as 13335`, `as13335` only after
    words about networks in the same sentence ("announced by", "autonomous system", "BGP"):
    "as" before a number is mostly English ("as 2024 began", "as 10 percent")."""
    raw = match.group()
    digits = raw.lstrip("ASNasn ")
    strong = raw[:3].lower() == "asn" or (raw.startswith("AS") and raw[2].isdigit())
    if not strong and _ASN_CONTEXT.search(text, max(0, match.start() - 80), match.start()) is None:
        return match.start() + 1  # "located as 112.66.188.28": the number may be more
    number = int(digits)
    if 0 < number < 2**32:
        _emit(found, text, IocType.ASN, f"AS{number}", match.start(), match.end())
    return match.end()


def _on_hash(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    kind = _HASH_TYPES.get(match.end() - match.start())
    if kind is not None:
        _emit(found, text, kind, match.group().lower(), match.start(), match.end())
    return match.end()


def _on_ipv6(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    ioc = _ipv6(text, match.start(), match.end())
    if ioc is not None:
        found.append(ioc)
    return match.end()


def _on_ethereum(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    _emit(found, text, IocType.ETHEREUM, match.group().lower(), match.start(), match.end())
    return match.end()


def _on_bech32(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    if is_bech32_address(match.group()):
        _emit(found, text, IocType.BITCOIN, match.group().lower(), match.start(), match.end())
    return match.end()


def _on_bitcoin(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    if is_base58check_address(match.group()):
        _emit(found, text, IocType.BITCOIN, match.group(), match.start(), match.end())
    return match.end()


def _on_monero(text: str, match: re.Match[str], found: list[Ioc]) -> int:
    _emit(found, text, IocType.MONERO, match.group(), match.start(), match.end())
    return match.end()


_HANDLERS = {
    "url": _on_url,
    "authority": _on_url,
    "registry": _on_registry,
    "winpath": _on_path,
    "unixpath": _on_path,
    "cve": _on_cve,
    "asn": _on_asn,
    "ethereum": _on_ethereum,
    "bech32": _on_bech32,
    "ipv6": _on_ipv6,
    "hash": _on_hash,
    "bitcoin": _on_bitcoin,
    "monero": _on_monero,
    "host": _on_host,
    "local": _on_host,
    "literal": _on_literal,
}
