"""The shapes of ATT&CK and CVE ids, written once: every parser, importer and extractor that
recognises one uses these. Digits are ASCII only (`\\d` would also take `٢٠٢١`)."""

from __future__ import annotations

import re

__all__ = [
    "CVE_ID",
    "GROUP_ID",
    "GROUP_URL",
    "TECHNIQUE_ID",
    "TECHNIQUE_MENTION",
    "TECHNIQUE_URL",
    "cve_id_in",
    "cve_ids_in",
    "is_cve_id",
]

# T1059 or T1059.001, anywhere (no word boundaries: `findall` on text and `fullmatch` on an
# external id both use it).
TECHNIQUE_ID = re.compile(r"T[0-9]{4}(?:\.[0-9]{3})?")
# A technique id as a writer puts it in prose: standing alone, sub-technique after `.` or `/`;
# groups: technique, sub-technique (or None).
TECHNIQUE_MENTION = re.compile(r"(?<![\w.])(T[0-9]{4})(?:[./]([0-9]{3}))?(?![\w])")
# `https://attack.mitre.org/techniques/T1059/001`; groups: technique, sub-technique (or None).
TECHNIQUE_URL = re.compile(r"/techniques/(T[0-9]{4})(?:/([0-9]{3}))?", re.IGNORECASE)
# An ATT&CK group id (G0007) as a word of its own.
GROUP_ID = re.compile(r"\bG[0-9]{4}\b")
# `https://attack.mitre.org/groups/G0096`; group: the id.
GROUP_URL = re.compile(r"attack\.mitre\.org/groups/(G[0-9]{4})")
# CVE-2021-44228 in any case, as prose and vulnerability names write it.
CVE_ID = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}", re.IGNORECASE)
_CANONICAL_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}")


def is_cve_id(text: str) -> bool:
    """Whether `text` is exactly one CVE id as its registry writes it (upper case)."""
    return _CANONICAL_CVE.fullmatch(text) is not None


def cve_id_in(text: str) -> str | None:
    """The first CVE id in `text`, upper-cased; None if it names none."""
    found = CVE_ID.search(text)
    return found.group(0).upper() if found else None


def cve_ids_in(text: str) -> list[str]:
    """Every CVE id in `text`, upper-cased, each once, in order of first mention."""
    return list(dict.fromkeys(m.upper() for m in CVE_ID.findall(text)))
