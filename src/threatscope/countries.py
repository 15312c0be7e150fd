"""Country names as sources spell them -> ISO 3166-1 alpha-2 codes (pycountry does the lookup)."""

from __future__ import annotations

from functools import lru_cache

import pycountry

__all__ = ["country_name", "to_iso2"]

# Spellings pycountry's lookup does not know, seen in MISP, CFR and EuRepoC data.
_SPELLINGS = {
    "iran (islamic republic of)": "IR",
    "iran": "IR",
    "korea (democratic people's republic of)": "KP",
    "north korea": "KP",
    "dprk": "KP",
    "korea (republic of)": "KR",
    "south korea": "KR",
    "people's republic of china": "CN",
    "prc": "CN",
    "china": "CN",
    "russia": "RU",
    "russian federation": "RU",
    "palestine": "PS",
    "state of palestine": "PS",
    "vietnam": "VN",
    "syria": "SY",
    "us": "US",
    "usa": "US",
    "united states of america": "US",
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
    "burma": "MM",
}
# Names analysts use where ISO's official short name reads oddly in a sentence.
_SHORT_NAMES = {"RU": "Russia", "PS": "Palestine", "VN": "Vietnam", "SY": "Syria", "LA": "Laos"}
_NOT_A_COUNTRY = {"", "unknown", "not available", "n/a", "none", "various", "multiple"}


@lru_cache(maxsize=4096)
def to_iso2(name: str | None) -> str | None:
    """`Iran (Islamic Republic of)` -> `IR`; None when the value names no single country."""
    if name is None:
        return None
    text = name.strip()
    key = text.casefold()
    if key in _NOT_A_COUNTRY:
        return None
    if key in _SPELLINGS:
        return _SPELLINGS[key]
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


def country_name(code: str) -> str:
    """`KP` -> `North Korea`-style common name; the code itself when unknown."""
    if code in _SHORT_NAMES:
        return _SHORT_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)
