"""Report text -> structured intelligence: indicators of compromise, with offsets and flags."""

from __future__ import annotations

from threatscope.extract.iocs import Ioc, IocType, extract_iocs, unique_iocs
from threatscope.extract.patterns import stix_pattern
from threatscope.extract.refang import refang
from threatscope.extract.text import read_text
from threatscope.extract.warninglists import load_warninglists

__all__ = [
    "Ioc",
    "IocType",
    "extract_iocs",
    "load_warninglists",
    "read_text",
    "refang",
    "stix_pattern",
    "unique_iocs",
]
