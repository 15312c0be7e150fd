"""What `actor list --nexus VALUE` means: any spelling of a state, or `unknown`.

Analysts write a nexus as a country ("China", "People's Republic of China"), a code ("CN",
"CHN"), a demonym ("Chinese") or the label the landscape prints ("China-nexus"); all of them mean
the ISO 3166 alpha-2 code actors are stored under. A value naming no country is an error, never
a filter that silently matches nothing.
"""

from __future__ import annotations

import re

from threatscope.actors.described_nexus import DEMONYMS
from threatscope.countries import to_iso2
from threatscope.errors import ConfigError
from threatscope.nexus import UNKNOWN

__all__ = ["UNKNOWN", "nexus_code"]

# "China-nexus", "China nexus", "Chinese-based", "Iran-linked": the qualifier adds nothing.
_QUALIFIER = re.compile(r"[\s_-]+(?:nexus|based|linked|aligned|affiliated|sponsored)$")
_ACCEPTED = (
    "accepted: a country name, ISO code or demonym (China, CN, CHN, Chinese, China-nexus), "
    "or 'unknown' for actors no source gives a nexus"
)


def nexus_code(value: str) -> str:
    """`China`, `CHN`, `Chinese`, `china-nexus` -> `CN`; `unknown` stays `unknown`."""
    text = " ".join(value.replace("\u2019", "'").split())
    if text.casefold() == UNKNOWN:
        return UNKNOWN
    bare = _QUALIFIER.sub("", text.casefold()).strip()
    code = (DEMONYMS.get(bare) or to_iso2(bare)) if bare else None
    if code is None:
        raise ConfigError(f"--nexus {value!r} is not a country; {_ACCEPTED}")
    return code
