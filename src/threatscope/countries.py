"""Country names as sources spell them -> ISO 3166-1 alpha-2 codes.

Every spelling is compared through one key (accents, case, punctuation, "the" and word order
around a comma or parenthesis do not matter), so the ISO/UN short names ("Korea (the Democratic
People's Republic of)", "Taiwan (Province of China)", "Virgin Islands (U.S.)"), pycountry's names
("Korea, Democratic People's Republic of"), official names ("Republic of Korea"), common names
("North Korea") and nationality adjectives ("North Korean") all land on one code. A key two
countries share ("Congo" alone is the Republic of the Congo in ISO; "Korea" alone is either)
maps to nothing rather than to a guess.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import pycountry

__all__ = ["country_name", "names_no_country", "to_iso2"]

# Spellings neither ISO nor pycountry writes, seen in MISP, CFR and EuRepoC data, and names ISO
# has since replaced.
_SPELLINGS = {
    "iran": "IR",
    "north korea": "KP",
    "dprk": "KP",
    "south korea": "KR",
    "people's republic of china": "CN",
    "prc": "CN",
    "russia": "RU",
    "palestine": "PS",
    "vietnam": "VN",
    "syria": "SY",
    "us": "US",
    "usa": "US",
    "uk": "GB",
    "great britain": "GB",
    "taiwan": "TW",
    "turkey": "TR",
    "turkiye": "TR",
    "laos": "LA",
    "moldova": "MD",
    "venezuela": "VE",
    "bolivia": "BO",
    "tanzania": "TZ",
    "kosovo": "XK",
    "brunei": "BN",
    "ivory coast": "CI",
    "swaziland": "SZ",
    "st. vincent and the grenadines": "VC",
    "cape verde": "CV",
    "czech republic": "CZ",
    "macedonia": "MK",
    "macedonia (the former yugoslav republic of)": "MK",
    "burma": "MM",
    "holy see": "VA",
    "vatican": "VA",
    "vatican city": "VA",
    "micronesia": "FM",
    "east timor": "TL",
    "congo-brazzaville": "CG",
    "congo-kinshasa": "CD",
    "drc": "CD",
    "dr congo": "CD",
    "uae": "AE",
}
# Names analysts use where ISO's official short name reads oddly in a sentence.
_SHORT_NAMES = {"RU": "Russia", "PS": "Palestine", "VN": "Vietnam", "SY": "Syria", "LA": "Laos"}
# Cells that say the value is missing: not a country, and not a spelling anyone failed to map.
_MISSING = {"", "unknown", "not available", "n/a", "na", "none", "-", "?", "undetermined", "null"}
# Cells that say "more than one country, on purpose": also no single country, and not unmapped.
_SEVERAL = {"various", "multiple", "global", "worldwide"}
# Regions as EuRepoC marks them ("Europe (region)", "NATO (institutions)").
_REGION_MARK = re.compile(r"\((?:region|institutions)\)\s*$", re.IGNORECASE)
_PUNCTUATION = re.compile(r"[,;:()\[\]*/]")
_BRACKETED = re.compile(r"^(?P<head>[^(,]+?)\s*(?:\((?P<paren>[^)]*)\)|,(?P<comma>.*))\s*$")


def _key(text: str) -> str:
    """`Korea (the Republic of)` and `korea, republic of` -> `korea republic of`."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    folded = folded.replace("\u2019", "'").replace("\u2018", "'").replace("&", " and ")
    folded = _PUNCTUATION.sub(" ", folded.replace(".", ""))
    return " ".join(word for word in folded.split() if word != "the")


def _keys(name: str) -> list[str]:
    """The name's key, then the key with the bracketed or after-comma part first (`Korea
    (Republic of)` is also `Republic of Korea`)."""
    keys = [_key(name)]
    found = _BRACKETED.match(name.strip())
    if found:
        tail = found.group("paren") if found.group("paren") is not None else found.group("comma")
        keys.append(_key(f"{tail} {found.group('head')}"))
    return [key for key in keys if key]


@cache
def _index() -> dict[str, str]:
    candidates: dict[str, set[str]] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            for key in _keys(name) if name else ():
                candidates.setdefault(key, set()).add(str(country.alpha_2))
    index = {key: codes.pop() for key, codes in candidates.items() if len(codes) == 1}
    # Imported here: actors.described_nexus owns the nationality adjectives, and importing the
    # actors package at module level would import the store before this module is ready.
    from threatscope.actors.described_nexus import DEMONYMS

    for spellings in (DEMONYMS, _SPELLINGS):
        for spelling, code in spellings.items():
            for key in _keys(spelling):
                index[key] = code
    return index


@lru_cache(maxsize=4096)
def to_iso2(name: str | None) -> str | None:
    """`Iran (Islamic Republic of)` -> `IR`; None when the value names no single country."""
    if name is None:
        return None
    text = name.strip()
    if text.casefold() in _MISSING:
        return None
    index = _index()
    for key in _keys(text):
        if key in index:
            return index[key]
    try:
        # Alpha-2, alpha-3 and numeric codes.
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


def names_no_country(value: str | None) -> bool:
    """True for a source value that should name a country but maps to none: what the import
    output and the landscape list as unmapped. Missing-value cells ("Unknown", "n/a"), "global"
    or "various", and values the source itself marks as a region are not unmapped."""
    if value is None:
        return False
    text = value.strip()
    key = text.casefold()
    if key in _MISSING or key in _SEVERAL or _REGION_MARK.search(text):
        return False
    return to_iso2(text) is None


def country_name(code: str) -> str:
    """`KP` -> `North Korea`-style common name; the code itself when unknown."""
    if code in _SHORT_NAMES:
        return _SHORT_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)
