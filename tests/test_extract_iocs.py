"""IOC extraction: every type, every defanged form, the false-positive traps, warning lists,
STIX patterns, and the text of .txt/.md/.html/.pdf files."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from threatscope.errors import InputError
from threatscope.extract import (
    Ioc,
    IocType,
    extract_iocs,
    load_warninglists,
    read_text,
    refang,
    stix_pattern,
    unique_iocs,
)

T = IocType


def found(text: str) -> set[tuple[IocType, str]]:
    return {(ioc.type, ioc.value) for ioc in extract_iocs(text, warninglists_check=False)}


@pytest.fixture(scope="session")
def warninglists() -> None:
    load_warninglists()


# --- every type -------------------------------------------------------------------------------

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
XMR = (
    "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5Uzqt"
    "ReoS44qo9mtmXCqY45DJ852K5Jv2684Rge"
)
SHA512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" * 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C2 at 185.220.101.4.", {(T.IPV4, "185.220.101.4")}),
        ("block 91.212.153.0/24 now", {(T.IPV4, "91.212.153.0/24")}),
        ("seen from 2001:DB8::1 and", {(T.IPV6, "2001:db8::1")}),
        ("range 2001:db8:aa::/48 used", {(T.IPV6, "2001:db8:aa::/48")}),
        ("beacons to Update.Example.CO.UK daily", {(T.DOMAIN, "update.example.co.uk")}),
        (
            "GET https://evil.example.com/gate.php?id=1, then",
            {
                (T.URL, "https://evil.example.com/gate.php?id=1"),
                (T.DOMAIN, "evil.example.com"),
            },
        ),
        (
            "fetches 203.0.113.7/payload.bin from",
            {(T.URL, "203.0.113.7/payload.bin"), (T.IPV4, "203.0.113.7")},
        ),
        (
            "mail ops.team+x@Evil-Corp.com now",
            {(T.EMAIL, "ops.team+x@evil-corp.com"), (T.DOMAIN, "evil-corp.com")},
        ),
        ("md5 D41D8CD98F00B204E9800998ECF8427E", {(T.MD5, "d41d8cd98f00b204e9800998ecf8427e")}),
        (
            "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
            {(T.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709")},
        ),
        (f"sha256 {SHA256}.", {(T.SHA256, SHA256)}),
        (f"sha512 {SHA512}", {(T.SHA512, SHA512)}),
        (
            "exploits CVE-2021-44228 and cve\u20112017\u20110144",
            {(T.CVE, "CVE-2021-44228"), (T.CVE, "CVE-2017-0144")},
        ),
        (
            r"sets HKCU\Software\Microsoft\Windows\CurrentVersion\Run.",
            {(T.REGISTRY_KEY, r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run")},
        ),
        (
            r"key HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon is changed",
            {
                (
                    T.REGISTRY_KEY,
                    r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon",
                )
            },
        ),
        (
            r"drops C:\Program Files\Common Files\svc.dll and",
            {(T.FILE_PATH, r"C:\Program Files\Common Files\svc.dll")},
        ),
        (r"in %APPDATA%\Roaming\x.vbs.", {(T.FILE_PATH, r"%APPDATA%\Roaming\x.vbs")}),
        (
            r"copied to \\fileserver\share\tools\psexec.exe",
            {(T.FILE_PATH, r"\\fileserver\share\tools\psexec.exe")},
        ),
        (
            "runs /tmp/.x/kworker and reads /etc/shadow.",
            {(T.FILE_PATH, "/tmp/.x/kworker"), (T.FILE_PATH, "/etc/shadow")},
        ),
        ("writes ~/.ssh/authorized_keys", {(T.FILE_PATH, "~/.ssh/authorized_keys")}),
        (
            "dropped svchost32.exe and invoice.pdf.js",
            {(T.FILE_NAME, "svchost32.exe"), (T.FILE_NAME, "invoice.pdf.js")},
        ),
        (
            "BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa or",
            {(T.BITCOIN, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")},
        ),
        (
            "P2SH 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            {(T.BITCOIN, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")},
        ),
        (
            "segwit bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            {(T.BITCOIN, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")},
        ),
        (
            "taproot bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
            {(T.BITCOIN, "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297")},
        ),
        (
            "ETH 0x52908400098527886E0F7030069857D2E4169EE7",
            {(T.ETHEREUM, "0x52908400098527886e0f7030069857d2e4169ee7")},
        ),
        (
            f"XMR {XMR}",
            {
                (
                    T.MONERO,
                    XMR,
                )
            },
        ),
        (
            "hosted in AS13335, ASN 15169 and ASN16509.",
            {(T.ASN, "AS13335"), (T.ASN, "AS15169"), (T.ASN, "AS16509")},
        ),
    ],
)
def test_every_type(text: str, expected: set[tuple[IocType, str]]) -> None:
    assert found(text) == expected


def test_checksums_reject_lookalikes() -> None:
    # One character changed in each: the shape matches, the checksum does not.
    assert (
        found("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp")
        == set()
    )


def test_offsets_point_at_the_raw_text() -> None:
    text = "See hxxps://bad[.]site/a, 10.1.2.3 and user[at]mail(dot)example.net."
    iocs = extract_iocs(text, warninglists_check=False)
    assert [(i.type, i.raw) for i in iocs] == [
        (T.URL, "hxxps://bad[.]site/a"),
        (T.DOMAIN, "bad[.]site"),
        (T.IPV4, "10.1.2.3"),
        (T.EMAIL, "user[at]mail(dot)example.net"),
        (T.DOMAIN, "mail(dot)example.net"),
    ]
    assert all(text[i.start : i.end] == i.raw for i in iocs)


def test_order_is_deterministic_and_unique_keeps_first() -> None:
    text = "evil.com then 1.2.3.4 then EVIL.COM then 1.2.3.4"
    iocs = extract_iocs(text, warninglists_check=False)
    assert [i.start for i in iocs] == sorted(i.start for i in iocs)
    assert iocs == extract_iocs(text, warninglists_check=False)
    unique = unique_iocs(iocs)
    assert [(i.type, i.value, i.start) for i in unique] == [
        (T.DOMAIN, "evil.com", 0),
        (T.IPV4, "1.2.3.4", 14),
    ]


# --- refanging --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hxxp://evil[.]com/a", {(T.URL, "http://evil.com/a"), (T.DOMAIN, "evil.com")}),
        ("hXXps://evil(.)com/a", {(T.URL, "https://evil.com/a"), (T.DOMAIN, "evil.com")}),
        ("h**p://evil{.}com/a", {(T.URL, "http://evil.com/a"), (T.DOMAIN, "evil.com")}),
        ("hxxp[:]//evil[dot]com/a", {(T.URL, "http://evil.com/a"), (T.DOMAIN, "evil.com")}),
        ("hxxps[://]evil(dot)com/a", {(T.URL, "https://evil.com/a"), (T.DOMAIN, "evil.com")}),
        (
            "fxp://files{dot}evil.com/x",
            {(T.URL, "ftp://files.evil.com/x"), (T.DOMAIN, "files.evil.com")},
        ),
        ("see evil [.] com today", {(T.DOMAIN, "evil.com")}),
        ("see evil\\.com today", {(T.DOMAIN, "evil.com")}),
        ("ip 192[.]0[.]2[.]55 seen", {(T.IPV4, "192.0.2.55")}),
        ("ip 198.51.100(.)9 seen", {(T.IPV4, "198.51.100.9")}),
        ("mail bad[@]evil.com", {(T.EMAIL, "bad@evil.com"), (T.DOMAIN, "evil.com")}),
        ("mail bad(at)evil[.]com", {(T.EMAIL, "bad@evil.com"), (T.DOMAIN, "evil.com")}),
        ("mail bad[at]evil[.]com", {(T.EMAIL, "bad@evil.com"), (T.DOMAIN, "evil.com")}),
        ("mail bad {at} evil {dot} com", {(T.EMAIL, "bad@evil.com"), (T.DOMAIN, "evil.com")}),
        ("name evil[.]zip", {(T.DOMAIN, "evil.zip")}),
    ],
)
def test_refang_forms(text: str, expected: set[tuple[IocType, str]]) -> None:
    assert found(text) == expected


def test_refang_function() -> None:
    assert refang("hxxps[:]//a[.]b(dot)c{.}d/e[/]f user[at]x(.)y fxp://z") == (
        "https://a.b.c.d/e/f user@x.y ftp://z"
    )
    assert refang("[[.]]") == "."
    assert refang("plain text, http://a.b") == "plain text, http://a.b"


# --- false-positive traps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Upgrade to version 1.2.3.4 now.",
        "Fixed in v2.0.1 and ver. 10.2.3.4, build 6.1.7601.1",
        "See section 3.2.1 and Section 1.2.3.4 of the RFC; table 4.1.2.3 too.",
        "The OID 1.3.6.1.4.1 and 1.2.3.4.5 are not addresses.",
        "Dropped payload.exe, invoice.pdf.js, README.md, setup.msi and tool.ps1.",
        "Written in Node.js with System.Net calls, e.g. i.e. etc.",
        "Timestamps 12:30:45 and 10:00 are not IPv6; neither is std::string.",
        "Leading zeros 010.001.002.003 and octets 256.1.1.1 are invalid.",
    ],
)
def test_false_positive_traps(text: str) -> None:
    values = found(text)
    assert not {v for v in values if v[0] in (T.IPV4, T.IPV6, T.DOMAIN, T.URL)}


def test_dotted_file_names_are_files_not_domains() -> None:
    assert found("Dropped payload.exe, invoice.pdf.js, README.md and evil.zip.") == {
        (T.FILE_NAME, "payload.exe"),
        (T.FILE_NAME, "invoice.pdf.js"),
        (T.FILE_NAME, "README.md"),
        (T.FILE_NAME, "evil.zip"),
    }
    # The same names are hosts once defanged, given a scheme, or begun with www.
    assert found("evil[.]zip http://payload.zip/x www.archive.zip") == {
        (T.DOMAIN, "evil.zip"),
        (T.URL, "http://payload.zip/x"),
        (T.DOMAIN, "payload.zip"),
        (T.DOMAIN, "www.archive.zip"),
    }


def test_version_and_section_numbers_yield_nothing() -> None:
    assert found("version 1.2.3.4, v2.0.1, section 3.2.1, Section 10.1.2.3") == set()


# --- warning lists ----------------------------------------------------------------------------


@pytest.mark.usefixtures("warninglists")
def test_warninglists_flag_without_dropping() -> None:
    text = "8.8.8.8 10.0.0.1 google.com 10.0.0.0/8 203.0.113.0/24 zzqx-c2-panel.top"
    flags = {ioc.value: ioc.warninglists for ioc in extract_iocs(text)}
    assert "List of known IPv4 public DNS resolvers" in flags["8.8.8.8"]
    assert "List of RFC 1918 CIDR blocks" in flags["10.0.0.1"]
    assert "List of RFC 1918 CIDR blocks" in flags["10.0.0.0/8"]
    assert "Top 1000 website from Alexa" in flags["google.com"]
    assert "List of known google domains" in flags["google.com"]
    assert "List of RFC 5735 CIDR blocks" in flags["203.0.113.0/24"]
    assert flags["zzqx-c2-panel.top"] == ()
    assert all(names == tuple(sorted(names)) for names in flags.values())


@pytest.mark.usefixtures("warninglists")
def test_warninglists_cover_hashes_hostnames_and_urls() -> None:
    empty_md5 = "d41d8cd98f00b204e9800998ecf8427e"
    text = f"{empty_md5} mail.google.com https://www.google.com/search?q=x"
    flags = {(ioc.type, ioc.value): ioc.warninglists for ioc in extract_iocs(text)}
    assert "List of known hashes for empty files" in flags[(T.MD5, empty_md5)]
    # "hostname" lists match subdomains; URLs are checked by host.
    assert "Top 1000 website from Alexa" in flags[(T.DOMAIN, "mail.google.com")]
    assert "Top 1000 website from Alexa" in flags[(T.URL, "https://www.google.com/search?q=x")]
    assert extract_iocs("fe80::1")[0].warninglists == ("List of IPv6 link local blocks",)


# --- STIX patterns ----------------------------------------------------------------------------


def test_stix_patterns_are_valid_and_exact() -> None:
    text = (
        r"1.2.3.4 10.0.0.0/8 2001:db8::1 evil.com hxxp://evil[.]com/a?b=1 x@evil.com "
        f"{SHA256} d41d8cd98f00b204e9800998ecf8427e "
        r"HKLM\Software\Run C:\Windows\Temp\a.exe /tmp/x/y payload.exe AS64500 CVE-2021-44228 "
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa C:\\Windows\\Temp\\"
    )
    patterns = {
        ioc.value: stix_pattern(ioc) for ioc in extract_iocs(text, warninglists_check=False)
    }
    assert patterns == {
        "1.2.3.4": "[ipv4-addr:value = '1.2.3.4']",
        "10.0.0.0/8": "[ipv4-addr:value = '10.0.0.0/8']",
        "2001:db8::1": "[ipv6-addr:value = '2001:db8::1']",
        "evil.com": "[domain-name:value = 'evil.com']",
        "http://evil.com/a?b=1": "[url:value = 'http://evil.com/a?b=1']",
        "x@evil.com": "[email-addr:value = 'x@evil.com']",
        SHA256: f"[file:hashes.'SHA-256' = '{SHA256}']",
        "d41d8cd98f00b204e9800998ecf8427e": (
            "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']"
        ),
        "HKEY_LOCAL_MACHINE\\Software\\Run": (
            "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software\\\\Run']"
        ),
        "C:\\Windows\\Temp\\a.exe": (
            "[file:name = 'a.exe' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\Temp']"
        ),
        "/tmp/x/y": "[file:name = 'y' AND file:parent_directory_ref.path = '/tmp/x']",
        "payload.exe": "[file:name = 'payload.exe']",
        "AS64500": "[autonomous-system:number = 64500]",
        "CVE-2021-44228": None,
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa": (
            "[cryptocurrency-wallet:value = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa']"
        ),
        "C:\\Windows\\Temp\\": "[directory:path = 'C:\\\\Windows\\\\Temp']",
    }
    for pattern in patterns.values():
        if pattern is not None:
            assert run_validator(pattern, stix_version="2.1") == [], pattern


def test_stix_pattern_escapes_quotes_and_backslashes() -> None:
    ioc = Ioc(T.FILE_PATH, "C:\\Users\\o'brien\\a.exe", "", 0, 0)
    pattern = stix_pattern(ioc)
    assert pattern == (
        "[file:name = 'a.exe' AND file:parent_directory_ref.path = 'C:\\\\Users\\\\o\\'brien']"
    )
    assert run_validator(pattern, stix_version="2.1") == []


# --- properties -------------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    [*"abcxyz019.:/\\@[](){}-_ \n\thxtpsfHKLMCVE%~", "[.]", "(dot)", "[at]", "hxxp", "://"]
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_extract_never_crashes_and_offsets_hold(text: str) -> None:
    for ioc in extract_iocs(text, warninglists_check=False):
        assert text[ioc.start : ioc.end] == ioc.raw
        assert ioc.raw


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_extract_never_crashes_on_any_text(text: str) -> None:
    extract_iocs(text, warninglists_check=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_refang_is_idempotent(text: str) -> None:
    once = refang(text)
    assert refang(once) == once


_WORDS = st.sampled_from(["the", "beacon", "reached", "host", "at", "and", "(", ")", ",", "then"])


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1, max_value=2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
    st.lists(_WORDS, max_size=5),
    st.lists(_WORDS, max_size=5),
    st.sampled_from([" ", "\n", " (", ": "]),
    st.sampled_from([" ", ".", ",", ")", ";\n"]),
)
def test_every_ipv4_in_prose_is_found(
    address: str, before: list[str], after: list[str], left: str, right: str
) -> None:
    text = " ".join(before) + left + address + right + " " + " ".join(after)
    values = [ioc.value for ioc in extract_iocs(text, warninglists_check=False)]
    assert values == [address]


# --- text from files --------------------------------------------------------------------------


def test_read_text_plain_and_markdown(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("C2 evil[.]com\n", encoding="utf-8")
    (tmp_path / "r.md").write_bytes("\ufeff# Report\n\n* `1.2.3.4`\n".encode())
    (tmp_path / "old.txt").write_bytes("caf\xe9 1.2.3.4".encode("cp1252"))
    assert read_text(tmp_path / "r.txt") == "C2 evil[.]com\n"
    assert read_text(tmp_path / "r.md") == "# Report\n\n* `1.2.3.4`\n"
    assert read_text(tmp_path / "old.txt") == "caf\xe9 1.2.3.4"


def test_read_text_html_strips_tags_scripts_and_separates_blocks(tmp_path: Path) -> None:
    html = (
        "<html><head><title>Report</title><style>p{color:red}</style>"
        "<script>var decoy = 'decoy.example.com';</script></head>"
        "<body><p>C2 <b>evil[.]com</b></p><div>ip</div><div>10.0.0.1</div>"
        "<table><tr><td>a.b</td><td>c</td></tr></table>x&amp;y</body></html>"
    )
    (tmp_path / "r.html").write_text(html, encoding="utf-8")
    text = read_text(tmp_path / "r.html")
    assert text == "Report\nC2 evil[.]com\nip\n10.0.0.1\na.b\nc\n\n\nx&y"
    assert found(text) == {(T.DOMAIN, "evil.com"), (T.IPV4, "10.0.0.1")}


def test_read_text_pdf(tmp_path: Path) -> None:
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.set_font("Helvetica", size=11)
    for page in range(2):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {page}: C2 hxxp://evil[.]com/p{page} from 198.51.100.{page + 1}")
    path = tmp_path / "r.pdf"
    pdf.output(str(path))
    text = read_text(path)
    assert text == (
        "Page 0: C2 hxxp://evil[.]com/p0 from 198.51.100.1\f"
        "Page 1: C2 hxxp://evil[.]com/p1 from 198.51.100.2"
    )
    assert found(text) == {
        (T.URL, "http://evil.com/p0"),
        (T.URL, "http://evil.com/p1"),
        (T.DOMAIN, "evil.com"),
        (T.IPV4, "198.51.100.1"),
        (T.IPV4, "198.51.100.2"),
    }


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("missing.txt", None, "no such file"),
        ("report.docx", b"PK", "unsupported file type '.docx'"),
        ("broken.pdf", b"%PDF-1.7 this is not a pdf", "not a readable PDF"),
        ("binary.txt", b"MZ\x90\x00\x03\x00", "binary data, not text"),
    ],
)
def test_read_text_errors(tmp_path: Path, name: str, content: bytes | None, reason: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_text(path)
    assert caught.value.file == str(path)
    assert caught.value.reason.startswith(reason)
