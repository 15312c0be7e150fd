"""Country spellings -> ISO 3166-1 alpha-2, and which values count as unmapped."""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pycountry
import pytest
from hypothesis import given
from hypothesis import strategies as st

from threatscope.countries import names_no_country, to_iso2

ISO_SHORT_NAMES = Path(__file__).parent / "data" / "iso3166_short_names.csv"


def iso_short_names() -> list[tuple[str, str]]:
    with ISO_SHORT_NAMES.open(encoding="utf-8", newline="") as handle:
        return [(row["short_name"], row["alpha_2"]) for row in csv.DictReader(handle)]


def test_every_iso_short_name_maps_to_its_code() -> None:
    names = iso_short_names()
    assert len(names) == 249
    assert {code for _, code in names} == {str(c.alpha_2) for c in pycountry.countries}
    wrong = [(name, code, to_iso2(name)) for name, code in names if to_iso2(name) != code]
    assert wrong == []


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Korea (the Democratic People's Republic of)", "KP"),
        ("Korea (Democratic People's Republic of)", "KP"),
        ("Korea, Democratic People's Republic of", "KP"),
        ("Democratic People\u2019s Republic of Korea", "KP"),  # typographic apostrophe
        ("Korea (the Republic of)", "KR"),
        ("Republic of Korea", "KR"),
        ("Taiwan (Province of China)", "TW"),
        ("Moldova (the Republic of)", "MD"),
        ("Venezuela (Bolivarian Republic of)", "VE"),
        ("Viet Nam", "VN"),
        ("Holy See", "VA"),
        ("Holy See (the)", "VA"),
        ("Netherlands (the)", "NL"),
        ("The Netherlands", "NL"),
        ("Kingdom of the Netherlands", "NL"),
        ("Congo (the Democratic Republic of the)", "CD"),
        ("Congo (the)", "CG"),
        ("Virgin Islands (U.S.)", "VI"),
        ("Falkland Islands (the) [Malvinas]", "FK"),
        ("Cote d'Ivoire", "CI"),
        ("CURAÇAO", "CW"),
        ("Turkey", "TR"),
        ("Russian Federation (the)", "RU"),
        ("United States of America (the)", "US"),
        ("Tanzania, the United Republic of", "TZ"),
        ("Palestine, State of", "PS"),
        # Nationality adjectives, as actor tables write them.
        ("North Korean", "KP"),
        ("Russian", "RU"),
        ("Chinese", "CN"),
        ("Iranian", "IR"),
        # Codes.
        ("KP", "KP"),
        ("PRK", "KP"),
        ("408", "KP"),
    ],
)
def test_official_short_and_the_forms(name: str, code: str) -> None:
    assert to_iso2(name) == code


@pytest.mark.parametrize("name", ["Korea", "Korea (the)", "Virgin Islands", "Europe", ""])
def test_a_name_two_countries_share_maps_to_none(name: str) -> None:
    assert to_iso2(name) is None


@pytest.mark.parametrize(
    ("value", "unmapped"),
    [
        ("Korea (Pyongyang)", True),  # once hidden because it holds a parenthesis
        ("Espionage", True),
        ("China, Russian Federation", True),
        ("Eastern Europe", True),
        ("Korea (the Democratic People's Republic of)", False),  # maps to KP
        ("Unknown", False),
        ("Undetermined", False),
        ("Not available", False),
        ("Global", False),
        ("Europe (region)", False),  # the source says it is a region
        ("NATO (institutions)", False),
    ],
)
def test_which_values_are_unmapped(value: str, unmapped: bool) -> None:
    assert names_no_country(value) is unmapped


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@given(
    st.sampled_from(iso_short_names()),
    st.sampled_from([str.upper, str.lower, str.title, _strip_accents, lambda s: f"  {s} "]),
    st.booleans(),
)
def test_case_accents_spacing_and_a_leading_the_do_not_matter(
    entry: tuple[str, str], change: object, the: bool
) -> None:
    name, code = entry
    assert callable(change)
    written = change(name)
    if the:
        written = f"the {written.strip()}"
    assert to_iso2(written) == code, written
