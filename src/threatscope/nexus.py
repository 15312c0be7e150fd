"""How a nexus (an actor's country, as ISO alpha-2, or "unknown") is named in prose and charts."""

from __future__ import annotations

from threatscope.countries import country_name

__all__ = ["UNKNOWN", "UNKNOWN_NAME", "nexus_label", "nexus_name"]

UNKNOWN = "unknown"  # the nexus code of incidents no actor or state is tied to
UNKNOWN_NAME = "Unknown nexus"


def nexus_label(code: str) -> str:
    """`CN` -> `China-nexus`, as verdicts and headlines say it; `unknown` -> `unknown nexus`."""
    return "unknown nexus" if code == UNKNOWN else f"{country_name(code)}-nexus"


def nexus_name(code: str) -> str:
    """`CN` -> `China`, as chart legends and report tables name it; `unknown` -> `Unknown nexus`."""
    return UNKNOWN_NAME if code == UNKNOWN else country_name(code)
