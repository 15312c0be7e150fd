"""`import attack PATH`: MITRE ATT&CK Enterprise, ICS or Mobile bundles (STIX 2.0 or 2.1).

The bundle already carries what we need (techniques with kill-chain tactics, sub-technique
flags, groups, software, campaigns, `uses`/`attributed-to`/`subtechnique-of` relationships,
revoked and `x_mitre_deprecated` flags); this source checks the file really is ATT&CK so a
wrong file fails loudly instead of landing under the wrong provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threatscope.errors import InputError
from threatscope.sources.base import Source, register
from threatscope.sources.stix_bundle import bundle_files
from threatscope.stix import parse_file

__all__ = ["load_attack"]

_ATTACK_SOURCES = ("mitre-attack", "mitre-ics-attack", "mitre-mobile-attack")


def load_attack(path: Path) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for file in bundle_files(path):
        bundle = parse_file(file)
        if not any(_is_attack(obj) for obj in bundle.objects):
            raise InputError(
                str(file), "not an ATT&CK bundle: no x-mitre-matrix and no mitre-attack ids"
            )
        objects.extend(bundle.objects)
    return objects


def _is_attack(obj: dict[str, Any]) -> bool:
    if obj["type"] == "x-mitre-matrix":
        return True
    return any(
        isinstance(ref, dict) and ref.get("source_name") in _ATTACK_SOURCES
        for ref in obj.get("external_references") or ()
    )


register(
    Source(
        "attack",
        "MITRE ATT&CK bundles (Enterprise, ICS, Mobile)",
        load_attack,
        citation="MITRE ATT&CK®, The MITRE Corporation, https://attack.mitre.org",
        licence="ATT&CK Terms of Use (royalty-free; keep MITRE's copyright notice), "
        "https://attack.mitre.org/resources/legal-and-branding/terms-of-use/",
        public=True,
    )
)
