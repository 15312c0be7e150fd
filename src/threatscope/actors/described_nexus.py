"""A nexus read from how a group's own description introduces it, for objects that claim none.

ATT&CK states no country for its groups, but most descriptions open with one: "APT38 is a North
Korean state-sponsored threat group", "Aquatic Panda is a suspected China-based threat group",
"Group5 is a threat group with a suspected Iranian nexus". Only the opening sentence is read, and
only phrases that describe the group itself (`is a … X-based`, `X nexus`, `X origins`), so
"has targeted the Russian government" claims nothing. Language ("Chinese-speaking") is not a
nexus.
"""

from __future__ import annotations

import re

__all__ = ["DEMONYMS", "described_nexus"]

DEMONYMS = {
    "china": "CN", "chinese": "CN", "people's republic of china": "CN", "prc": "CN",
    "russia": "RU", "russian": "RU",
    "iran": "IR", "iranian": "IR",
    "north korea": "KP", "north korean": "KP", "dprk": "KP",
    "south korea": "KR", "south korean": "KR",
    "pakistan": "PK", "pakistani": "PK",
    "india": "IN", "indian": "IN",
    "vietnam": "VN", "vietnamese": "VN",
    "lebanon": "LB", "lebanese": "LB",
    "turkey": "TR", "turkish": "TR",
    "belarus": "BY", "belarusian": "BY",
    "israel": "IL", "israeli": "IL",
    "gaza": "PS", "palestinian": "PS",
    "united arab emirates": "AE", "uae": "AE",
    "syria": "SY", "syrian": "SY",
    "nigeria": "NG", "nigerian": "NG",
    "brazil": "BR", "brazilian": "BR",
}  # fmt: skip
_NAME = "|".join(sorted((re.escape(k) for k in DEMONYMS), key=len, reverse=True))
_SELF = (
    # "is a (suspected) China-based / North Korean state-sponsored / Iranian threat group"
    rf"\b(?:is|are|was|be|by)\s+(?:a|an|the)?\s*(?:suspected|likely|alleged|probable|possibly)?\s*"
    rf"(?P<a>{_NAME})(?:[-–\s](?:based|linked|aligned|nexus|related|sponsored|state|government|"
    rf"military|intelligence|cyber|espionage|threat|apt|advanced|nation|affiliated))",
    # "with a suspected Iranian nexus", "with Chinese origins"
    rf"\bwith\s+(?:a\s+)?(?:suspected\s+|likely\s+)?(?P<b>{_NAME})\s+(?:nexus|origins?)\b",
)
_PATTERN = re.compile("|".join(_SELF), re.IGNORECASE)
_FIRST_SENTENCE = re.compile(r"^.*?(?:\.\s|\.$|$)", re.DOTALL)
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_CITATION = re.compile(r"\(Citation:[^)]*\)")


# The opening sentence is all that is read; a bound on it keeps every pattern below linear in the
# description's length, however hostile (the link and citation patterns are quadratic in runs of
# unclosed brackets, the self-description pattern polynomial in runs of whitespace).
_OPENING_CHARS = 2000


def described_nexus(description: str | None) -> str | None:
    """ISO 3166 alpha-2 code the opening sentence attributes the group to, if any."""
    if not description:
        return None
    # Whitespace runs collapse to one space first, so `\s+ … \s* … \s*` cannot backtrack over them.
    opening = " ".join(description[: _OPENING_CHARS * 2].split())[:_OPENING_CHARS]
    text = _CITATION.sub("", _LINK.sub(r"\1", opening)).replace("\u2019", "'")
    first = _FIRST_SENTENCE.match(text.strip())
    sentence = first.group(0) if first else text
    found = _PATTERN.search(sentence)
    if not found:
        return None
    phrase = (found.group("a") or found.group("b")).lower()
    return DEMONYMS.get(phrase)
