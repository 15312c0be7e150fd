"""IOCs where attackers hide them (issue 12 item 4): ASNs in their written forms, the domain of
every e-mail address, e-mails with IP literals, `CVE 2024-1234` with a space, IPv6 in any form
as one value, and hosts and URLs inside URL paths and percent-encoded parameters."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from threatscope.extract import Ioc, IocType, extract_iocs, stix_pattern, unique_iocs

T = IocType


def iocs(text: str) -> list[Ioc]:
    found = extract_iocs(text, warninglists_check=False)
    assert all(text[i.start : i.end] == i.raw for i in found)
    return found


def found(text: str) -> set[tuple[IocType, str]]:
    return {(ioc.type, ioc.value) for ioc in iocs(text)}


# --- ASNs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("hosted in AS13335 today", "AS13335"),
        ("hosted in ASN 15169 today", "AS15169"),
        ("hosted in ASN16509 today", "AS16509"),
        ("hosted in asn 7 today", "AS7"),
        ("hosted in Asn4200000000 today", "AS4200000000"),
        # "as" with a space or in lower case needs a sentence about networks
        ("the prefix is announced by as 13335 since May", "AS13335"),
        ("the prefix is announced by AS 13335.", "AS13335"),
        ("its autonomous system, as9009, peers with", "AS9009"),
        ("BGP routes through AS 4134 and", "AS4134"),
    ],
)
def test_asn_forms(text: str, value: str) -> None:
    assert found(text) == {(T.ASN, value)}


@pytest.mark.parametrize(
    "text",
    [
        "as 2024 began, as 10 percent fell",
        "Sent AS 10 copies, as10 of them arrived.",
        "has 1234 and was 5678",
        "AS 0 and ASN 4294967296 are out of range",
    ],
)
def test_as_before_a_number_in_prose_is_no_asn(text: str) -> None:
    assert found(text) == set()


def test_network_words_count_only_in_their_own_sentence() -> None:
    text = "The prefix is announced by AS 13335. Then as 2024 ends, as 10 did."
    assert found(text) == {(T.ASN, "AS13335")}


def test_a_rejected_as_leaves_the_address_behind_it() -> None:
    """AnnoCTR: "localized in China as 112.66.188[.]28" lost the address to the ASN check."""
    assert found("localized in China as 112.66.188[.]28 which") == {(T.IPV4, "112.66.188.28")}


# --- e-mail addresses ---------------------------------------------------------------------------


def test_every_email_domain_is_a_domain_inside_the_address() -> None:
    text = "From: HEALTH CARES <admin@ledfarm[.]store> and Russell@simpleweb-online.co[.]uk"
    result = iocs(text)
    assert [(i.type, i.value, i.raw) for i in result] == [
        (T.EMAIL, "admin@ledfarm.store", "admin@ledfarm[.]store"),
        (T.DOMAIN, "ledfarm.store", "ledfarm[.]store"),
        (T.EMAIL, "Russell@simpleweb-online.co.uk", "Russell@simpleweb-online.co[.]uk"),
        (T.DOMAIN, "simpleweb-online.co.uk", "simpleweb-online.co[.]uk"),
    ]
    # linked: each domain lies inside its address
    for email, domain in zip(result[::2], result[1::2], strict=True):
        assert email.start < domain.start and domain.end == email.end


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sent from user@[192.0.2.1].",
            {(T.EMAIL, "user@[192.0.2.1]"), (T.IPV4, "192.0.2.1")},
        ),
        (
            "reply to x.y@[IPv6:2001:DB8:0:0:0:0:0:1] now",
            {(T.EMAIL, "x.y@[IPv6:2001:db8::1]"), (T.IPV6, "2001:db8::1")},
        ),
        ("bad[at][198.51.100.7]", {(T.EMAIL, "bad@[198.51.100.7]"), (T.IPV4, "198.51.100.7")}),
        ("no a@[999.1.1.1] or a@[010.1.1.1]", set()),
    ],
)
def test_emails_with_ip_literals(text: str, expected: set[tuple[IocType, str]]) -> None:
    assert found(text) == expected


# --- CVE ----------------------------------------------------------------------------------------


def test_cve_with_a_space() -> None:
    text = "exploits CVE 2024-1234, cve 2021-44228. Not CVE  2020-1 or ACVE 2021-44228."
    assert [(i.value, i.raw) for i in iocs(text)] == [
        ("CVE-2024-1234", "CVE 2024-1234"),
        ("CVE-2021-44228", "cve 2021-44228"),
    ]


# --- IPv6 ---------------------------------------------------------------------------------------


def _normalised(address: ipaddress.IPv6Address) -> str:
    if address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return address.compressed


def _extractable(address: ipaddress.IPv6Address) -> bool:
    """Addresses the extractor reads as code, not addresses, in compressed form ("a::b")."""
    groups = [group for group in address.compressed.split(":") if group]
    return len(groups) >= 2 and any(c.isdigit() for c in address.compressed)


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses(v=6).filter(_extractable))
def test_ipv6_compressed_full_and_upper_case_give_one_value(
    address: ipaddress.IPv6Address,
) -> None:
    forms = [address.compressed, address.exploded, address.exploded.upper()]
    text = "seen from " + ", then ".join(forms) + " today"
    result = iocs(text)
    assert [(i.type, i.raw) for i in result] == [(T.IPV6, form) for form in forms]
    assert {i.value for i in result} == {_normalised(address)}
    assert len(unique_iocs(result)) == 1


def test_ipv4_mapped_ipv6_keeps_its_dotted_part() -> None:
    assert found("from ::ffff:192.0.2.1 and 0:0:0:0:0:FFFF:C000:0201") == {
        (T.IPV6, "::ffff:192.0.2.1")
    }


# --- inside URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (
            "go https://r.example.com/out?url=http%3A%2F%2Fevil.net%2Fpay%3Fid%3D1&x=1 now",
            {(T.URL, "http://evil.net/pay?id=1"), (T.DOMAIN, "evil.net")},
        ),
        (  # encoded twice
            "r.example.com/out?u=http%253A%252F%252Fdouble.org%252Fx",
            {(T.URL, "http://double.org/x"), (T.DOMAIN, "double.org")},
        ),
        (  # the nested URL ends with its parameter
            "https://www.google.com/url?q=evil.org/login&sa=D&usg=AOvVaw09",
            {(T.URL, "evil.org/login"), (T.DOMAIN, "evil.org")},
        ),
        (
            "https://web.archive.org/web/2020/http://evil.com/a?b=c.com",
            {(T.URL, "http://evil.com/a"), (T.DOMAIN, "evil.com"), (T.DOMAIN, "c.com")},
        ),
        (
            "https://storage.googleapis.com/b/phish.appspot.com/o/index.html",
            {(T.URL, "phish.appspot.com/o/index.html"), (T.DOMAIN, "phish.appspot.com")},
        ),
        (
            "https://t.co/x?to=bob%40evil.net",
            {(T.EMAIL, "bob@evil.net"), (T.DOMAIN, "evil.net")},
        ),
        ("https://t.co/x?to=198.51.100.7", {(T.IPV4, "198.51.100.7")}),
    ],
)
def test_indicators_inside_url_paths_and_parameters(
    text: str, hidden: set[tuple[IocType, str]]
) -> None:
    outer_url, outer_host, *inside = iocs(text)
    assert (outer_url.type, outer_host.type) == (T.URL, T.DOMAIN)
    assert all(i.start >= outer_host.end for i in inside)
    assert {(i.type, i.value) for i in inside} == hidden


def test_encoded_target_points_at_its_encoded_text() -> None:
    text = "link https://r.example.com/out?url=http%3A%2F%2Fevil.net%2Fa&x=1"
    inner = [i for i in iocs(text) if i.start > text.index("?")]
    assert [(i.type, i.value, i.raw) for i in inner] == [
        (T.URL, "http://evil.net/a", "http%3A%2F%2Fevil.net%2Fa"),
        (T.DOMAIN, "evil.net", "evil.net"),
    ]


@pytest.mark.parametrize(
    "url",
    [
        "hxxps://www[.]aljaber-llc[.]com/projects/files/ALJABER-RFQ-1-Rev-1[.]1[.]zip",
        "https://www.dropbox.com/s/cym2723/REQUEST%20FOR%20TENDER\\_pdf[.]zip?dl=0",
        "http://tbs.seoul.kr/eFm/newsView.do?typ_800=N&idx_800=3445116",
        "https://nw.infestexe.com/version/last.ph",
        "https://x.com/gate.php?id=1&f=a.exe&doc=report.pdf&v=1.2.3.4.5",
        "https://x.com/dl/setup.app.zip?name=System.Net",
    ],
)
def test_file_names_in_url_paths_are_no_hosts(url: str) -> None:
    """Path segments are mostly file names, whatever TLD their last label is too."""
    inside = [i for i in iocs(url) if i.start > url.index("/", 10)]
    assert inside == []


@settings(max_examples=100, deadline=None)
@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,12}[a-z0-9]", fullmatch=True),
    st.sampled_from(["com", "net", "org", "ru", "co.uk", "xyz"]),
    st.from_regex(r"(?:[A-Za-z0-9_.~-]{0,19}[A-Za-z0-9_~-])?", fullmatch=True),
    st.integers(min_value=1, max_value=3),
)
def test_any_percent_encoded_redirect_target_is_found(
    label: str, suffix: str, path: str, times: int
) -> None:
    target = f"http://{label}.{suffix}/{path}"
    encoded = target
    for _ in range(times):
        encoded = quote(encoded, safe="")
    text = f"click https://tracker.example.com/c?id=7&u={encoded}&s=1 now"
    assert (T.URL, target) in found(text)
    assert (T.DOMAIN, f"{label}.{suffix}") in found(text)


# --- fuzz ---------------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "http://a.com/", "b.net", "?u=", "&", "=", "/", "#", "%3A", "%2F", "%25", "%40", "%",
        "@", "@[", "[", "]", "IPv6:", "1.2.3.4", "2001:db8::1", "::", "[.]", "[at]", "as ",
        "ASN ", "AS", "asn", "CVE ", "cve-", "2024-1234", "13335", "BGP ", ". ", " ", "x.zip",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_hidden_forms_never_crash_and_offsets_hold(text: str) -> None:
    result = iocs(text)  # asserts text[start:end] == raw
    assert [i.start for i in result] == sorted(i.start for i in result)
    assert all(i.value for i in result)


def test_stix_patterns_of_the_hidden_forms_are_valid() -> None:
    text = (
        "x.y@[IPv6:2001:db8::1] bob@[192.0.2.1] announced by as 13335 "
        "https://r.example.com/o?u=http%3A%2F%2Fevil.net%2Fa ::ffff:192.0.2.1"
    )
    patterns = {stix_pattern(i) for i in iocs(text)} - {None}
    assert "[email-addr:value = 'x.y@[IPv6:2001:db8::1]']" in patterns
    assert "[autonomous-system:number = 13335]" in patterns
    assert "[url:value = 'http://evil.net/a']" in patterns
    assert "[ipv6-addr:value = '::ffff:192.0.2.1']" in patterns
    for pattern in patterns:
        assert run_validator(pattern) == [], pattern
