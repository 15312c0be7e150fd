"""Attribution: which known actor (or at least which nexus) best explains a set of evidence."""

from threatscope.attribution.engine import attribute, estimative
from threatscope.attribution.evidence import (
    Evidence,
    evidence_from_bundle,
    evidence_from_summary,
    make_evidence,
)
from threatscope.attribution.profiles import build_profiles

__all__ = [
    "Evidence",
    "attribute",
    "build_profiles",
    "estimative",
    "evidence_from_bundle",
    "evidence_from_summary",
    "make_evidence",
]
