"""Which countries a report names as victims, not as attackers or backdrop.

`extract` finds every country a report names. Taken all as victims, "Chinese state-sponsored
actors" would make China a victim country and count against every Chinese group. A mention
counts as a victim here when its sentence speaks of targeting (target, victim, against,
compromise, breach, organisations in...) and the mention itself is not part of an attribution
phrase ("Chinese threat actors", "Russia-based", "linked to Iran"), and the sentence is no
recommendation ("organisations in Germany should patch", "we recommend that companies in France
review…"): advice names who might be hit, not who was. A rule, not a model: it errs towards
leaving a country out, which costs attribution far less than a wrong victim.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["victim_countries"]

_VICTIM_CUE = re.compile(
    r"\b(?:target\w*|victim\w*|against|attack(?:s|ed|ing)?\s+(?:on|in)|compromis\w*|breach\w*"
    r"|infiltrat\w*|intru\w+|affect\w*|hit|struck|spear-?phish\w*|lure\w*"
    r"|(?:organi[sz]ations?|entities|compan(?:y|ies)|institutions?|ministr(?:y|ies)"
    r"|agenc(?:y|ies)|government|firms?|users|customers)\s+(?:in|of|from)|located\s+in)\b",
    re.IGNORECASE,
)
# Advice, not an account of what happened.
_RECOMMENDATION = re.compile(
    r"\b(?:should|recommend\w*|advis(?:e|es|ed|able)|urge[sd]?|encourag\w*|ought\s+to"
    r"|(?:are|is)\s+(?:asked|requested|invited)\s+to|best\s+practices?|mitigation\s+steps?)\b",
    re.IGNORECASE,
)
# Words right after a country that make it the attacker's: "Chinese threat actor", "Iran-linked".
_ACTOR_AFTER = re.compile(
    r"^[\s-]*(?:state\b|government[\s-]+(?:backed|sponsored|linked)|military|intelligence"
    r"|nexus|linked|based|backed|sponsored|speaking|apts?\b|threat|actors?\b|groups?\b"
    r"|hack\w*|operators?\b|adversar\w*|cyber\s*(?:espionage|actors?|units?|operations?)"
    r"|espionage|nation[\s-]state|origin)",
    re.IGNORECASE,
)
# Words right before it that do the same: "linked to Russia", "attributed to North Korea".
_ACTOR_BEFORE = re.compile(
    r"(?:linked|attributed|tied|connected|ties|links|originat\w*|based|operating|operates"
    r"|sponsored|backed|working|on behalf)\s+(?:to|in|from|out\s+of|by|of)\s+(?:the\s+)?$",
    re.IGNORECASE,
)


def victim_countries(countries: list[dict[str, Any]]) -> list[str]:
    """ISO codes of the `extract` summary's countries with a mention that reads as a victim."""
    found = []
    for country in countries:
        code = country.get("id")
        if isinstance(code, str) and any(
            _is_victim(m) for m in country.get("mentions") or () if isinstance(m, dict)
        ):
            found.append(code)
    return found


def _is_victim(mention: dict[str, Any]) -> bool:
    sentence, text = str(mention.get("sentence") or ""), str(mention.get("text") or "")
    at = sentence.find(text) if text else -1
    if at < 0 or not _VICTIM_CUE.search(sentence) or _RECOMMENDATION.search(sentence):
        return False
    before, after = sentence[max(0, at - 40) : at], sentence[at + len(text) : at + len(text) + 40]
    return not (_ACTOR_AFTER.match(after) or _ACTOR_BEFORE.search(before))
