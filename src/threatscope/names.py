"""Name normalisation shared by the store's alias index and actor resolution."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

__all__ = ["normalise_name", "object_aliases"]

# Anything but a letter or digit in any script (NFKD has already split accents off as marks).
_NOT_ALNUM = re.compile(r"[\W_]+")


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    """`APT 41`, `apt-41` and `APT41` are one name: case, accents, spacing and punctuation go."""
    folded = unicodedata.normalize("NFKD", name).casefold()
    return _NOT_ALNUM.sub("", folded)


def object_aliases(obj: dict[str, Any]) -> list[str]:
    """Every name an object is known by, its own name first, without duplicates."""
    names: list[str] = []
    seen: set[str] = set()
    candidates: list[Any] = [obj.get("name")]
    for key in ("aliases", "x_mitre_aliases"):
        value = obj.get(key)
        if isinstance(value, list):
            candidates.extend(value)
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            norm = normalise_name(candidate)
            if norm and norm not in seen:
                seen.add(norm)
                names.append(candidate.strip())
    return names
