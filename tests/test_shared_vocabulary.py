"""ids.py, days.py, nexus.py and the victim-sector lookup: one definition each, used everywhere."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from threatscope.days import EPOCH, date_of, day_of, day_of_iso
from threatscope.ids import (
    GROUP_ID,
    GROUP_URL,
    TECHNIQUE_ID,
    TECHNIQUE_MENTION,
    TECHNIQUE_URL,
    cve_id_in,
    cve_ids_in,
    is_cve_id,
)
from threatscope.nexus import nexus_label, nexus_name
from threatscope.taxonomy import sectors
from threatscope.taxonomy.sectors import VICTIM_SCHEMES, Sector, SectorTaxonomy

# -- days ---------------------------------------------------------------------------------------


@given(st.dates())
def test_a_day_number_round_trips_to_its_date(value: date) -> None:
    assert date_of(day_of(value)) == value
    assert day_of(value) == (value - EPOCH).days


@given(st.integers(min_value=day_of(date.min), max_value=day_of(date.max)))
def test_a_date_round_trips_to_its_day_number(day: int) -> None:
    assert day_of(date_of(day)) == day


def test_day_numbers_count_from_1970() -> None:
    assert day_of(date(1970, 1, 1)) == 0
    assert day_of(date(1969, 12, 31)) == -1
    assert date_of(19_813) == date(2024, 3, 31)
    assert day_of_iso("2024-03-31T12:00:00.000Z") == 19_813
    assert day_of_iso("2024-03-31") == 19_813


@given(st.one_of(st.none(), st.integers(), st.text(max_size=30)))
def test_day_of_iso_is_none_for_anything_not_an_iso_date(value: object) -> None:
    day = day_of_iso(value)
    if day is not None:
        assert isinstance(value, str)
        assert date_of(day) == date.fromisoformat(value[:10])


# -- ids ----------------------------------------------------------------------------------------

cve_numbers = st.tuples(st.integers(1999, 2099), st.integers(1, 10**7))


@given(cve_numbers, st.sampled_from(["CVE", "cve", "Cve"]), st.text(max_size=20))
def test_cve_ids_are_found_in_any_case_and_upper_cased(
    number: tuple[int, int], prefix: str, around: str
) -> None:
    year, serial = number
    canonical = f"CVE-{year}-{serial:04d}"
    text = f"{around} exploited {prefix}{canonical[3:]} and {canonical} again"
    assert canonical in cve_ids_in(text)
    assert cve_ids_in(text).count(canonical) == 1
    assert is_cve_id(canonical)
    assert is_cve_id(prefix + canonical[3:]) == (prefix == "CVE")


def test_only_ascii_digits_make_an_id() -> None:
    # Arabic-Indic and fullwidth digits are digits to `\d`, but no registry writes ids with them.
    assert cve_id_in("CVE-\u0662\u0660\u0662\u0661-\u0664\u0664\u0662\u0662\u0668") is None
    assert cve_id_in("CVE-\uff12\uff10\uff12\uff11-44228") is None
    assert TECHNIQUE_ID.fullmatch("T\uff11\uff10\uff15\uff19") is None
    assert GROUP_ID.search("G\u0660\u0660\u0660\u0667") is None
    assert cve_id_in("see cve-2021-44228.") == "CVE-2021-44228"


def test_attack_id_shapes() -> None:
    assert TECHNIQUE_ID.findall("T1059.001 then T1566") == ["T1059.001", "T1566"]
    mention = TECHNIQUE_MENTION.search("used T1059/001 here")
    assert mention is not None and mention.groups() == ("T1059", "001")
    assert TECHNIQUE_MENTION.search("xT1059") is None
    url = TECHNIQUE_URL.search("https://attack.mitre.org/techniques/t1059/001/")
    assert url is not None and url.groups() == ("t1059", "001")
    assert GROUP_ID.fullmatch("G0096") and not GROUP_ID.search("G00961")
    group = GROUP_URL.search("https://attack.mitre.org/groups/G0096/")
    assert group is not None and group.group(1) == "G0096"


# -- nexus --------------------------------------------------------------------------------------


def test_nexus_labels() -> None:
    assert nexus_label("CN") == "China-nexus"
    assert nexus_label("KP") == "North Korea-nexus"
    assert nexus_label("RU") == "Russia-nexus"
    assert nexus_label("unknown") == "unknown nexus"
    assert nexus_name("IR") == "Iran"
    assert nexus_name("unknown") == "Unknown nexus"


# -- victim sectors -----------------------------------------------------------------------------


def test_no_spelling_names_two_different_sectors_across_victim_schemes() -> None:
    """Evidence and profiles both read a victim sector through `victim_sectors`; that the order
    of the schemes decides nothing today is this property of sectors.toml."""
    taxonomy = sectors()
    spellings = {key for scheme in VICTIM_SCHEMES for key in taxonomy.maps[scheme]}
    for spelling in sorted(spellings):
        named = {
            taxonomy.map(scheme, spelling)
            for scheme in VICTIM_SCHEMES
            if taxonomy.map(scheme, spelling)
        }
        assert len(named) <= 1, (spelling, named)


def test_victim_sectors_tries_the_schemes_in_one_order() -> None:
    by_id = {s: Sector(s, s.title(), None) for s in ("finance", "banking", "other")}
    empty: dict[str, tuple[str, ...]] = {}
    taxonomy = SectorTaxonomy(
        by_id,
        {
            "stix": {"financial services": ("banking",), "unknown": ()},
            "cfr": {"financial services": ("finance",), "unknown": ("other",)},
            "eurepoc": empty,
        },
    )
    assert VICTIM_SCHEMES == ("stix", "cfr", "eurepoc")
    assert taxonomy.victim_sectors("Financial  Services") == ("banking",)
    # A scheme that knows a value but names no sector for it lets the next one speak.
    assert taxonomy.victim_sectors("Unknown") == ("other",)
    assert taxonomy.victim_sectors("finance") == ("finance",)  # our own ids, in any scheme
    assert taxonomy.victim_sectors("no such sector") == ()
