"""Is `a.b.c` an IPv4 address, a domain, a file name, or a version number?

Domains are checked against the ICANN section of the Public Suffix List shipped inside the
`publicsuffixlist` package (read from disk, never fetched): a name is a domain only when it has a
label of its own in front of a public suffix. `payload.exe` fails that test; `evil.zip` passes it,
since `.zip` is a TLD, so a name ending in a common file extension counts as a domain only when
the writer defanged it, put it in a URL, or began it with `www.`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

__all__ = ["FILE_EXTENSIONS", "file_or_domain", "is_domain", "is_ipv4", "looks_like_version"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Extensions of files that reports name: executables, scripts, documents, archives, images,
# and the like. Some are also TLDs (zip, mov, py, sh, pl, md, rs, so, one, java, cab).
FILE_EXTENSIONS = _words(
    """
    exe dll sys scr cpl ocx drv efi bat cmd ps1 psm1 psd1 vbs vbe js jse mjs wsf wsh wsc hta sct
    jar class java msi msp msix appx lnk inf reg pif apk ipa dmg pkg deb rpm elf bin so dylib ko
    py pyc pl rb php phtml asp aspx ashx jsp cgi sh bash zsh lua go rs c cc cpp h hpp cs vb vba
    doc docx docm dot dotm xls xlsx xlsm xlsb xlam xll ppt pptx pptm ppam pdf rtf odt ods odp txt
    csv log ini cfg conf config xml xsl json yaml yml toml html htm mht mhtml svg eml msg one
    zip rar 7z gz tgz tar bz2 xz cab iso img vhd vhdx arj ace lzh lz zst
    jpg jpeg png gif bmp ico tif tiff webp mp3 mp4 mov avi wav
    tmp dat db sqlite bak key pem crt cer der p12 pfx chm hlp url md
    """
)
# Tools whose names are written like files but mean the project.
_NOT_FILES = _words(
    "node.js next.js vue.js react.js express.js angular.js d3.js three.js nuxt.js ember.js "
    "backbone.js chart.js socket.io"
)
# Words that put a dotted number in a version or a document outline, not on the network.
_VERSION_CONTEXT = re.compile(
    r"(?:\b(?:version|versions|ver|v|release|build|firmware|fw|rev|revision|update|patch"
    r"|section|sections|chapter|clause|paragraph|table|figure|fig|appendix|step|rule)"
    r"\.?:?\s{0,3}|\bv|§\s{0,3})$",
    re.IGNORECASE,
)
_PSL = PublicSuffixList(only_icann=True, accept_unknown=False)
_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")


def is_ipv4(labels: list[str]) -> bool:
    """Four decimal octets, no leading zeros (`010` may mean octal 8, or be a version part)."""
    return len(labels) == 4 and all(
        label.isascii()
        and label.isdigit()
        and len(label) <= 3
        and int(label) <= 255
        and (label == "0" or label[0] != "0")
        for label in labels
    )


def looks_like_version(text: str, start: int) -> bool:
    """Whether the words just before `start` say what follows is a version or section number."""
    return _VERSION_CONTEXT.search(text, max(0, start - 24), start) is not None


def file_or_domain(value: str, *, defanged: bool, in_url: bool) -> str | None:
    """`"file-name"`, `"domain"` or None for a dotted name that is not an IP address."""
    lowered = value.lower()
    extension = lowered.rpartition(".")[2]
    if extension in FILE_EXTENSIONS and not (defanged or in_url or lowered.startswith("www.")):
        return None if lowered in _NOT_FILES else "file-name"
    tld = value.rpartition(".")[2]
    if not defanged and not in_url and len(tld) > 1 and tld[0].isupper() and tld[1:].islower():
        return None  # "System.Net", "Console.Write": code, not hosts
    return "domain" if is_domain(lowered) else None


@lru_cache(maxsize=65536)
def is_domain(name: str) -> bool:
    """A lowercase name with valid labels and a label in front of its ICANN public suffix."""
    if len(name) > 253:
        return False
    labels = name.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return False
    return _PSL.privatesuffix(name) is not None
