"""Undo the defanging that reports apply to indicators so nobody clicks them by mistake.

Writers defang in many hands: `hxxp://evil[.]com`, `evil(dot)com`, `user[at]evil{.}com`,
`fxp://`, `1.2.3[.]4`. The regular expressions here are shared with the extractor, which matches
the defanged forms in place (so offsets stay those of the input) and calls `refang` on each match.
"""

from __future__ import annotations

import re

__all__ = ["AT", "DOT", "refang"]

# Bracketed forms may carry a space on either side ("evil [.] com"); bare words ("evil dot com")
# are not accepted, since prose is full of them.
_BRACKETED_DOT = r"[\[\(\{]+(?:\.|[dD][oO][tT])[\]\)\}]+"
_BRACKETED_AT = r"[\[\(\{]+(?:@|[aA][tT])[\]\)\}]+"
# Regex fragments for the extractor: one separator each, defanged or not.
DOT = rf"(?:\x20?{_BRACKETED_DOT}\x20?|\\?\.)"
AT = rf"(?:\x20?{_BRACKETED_AT}\x20?|@)"

_SCHEMES = {"f": "ftp", "h": "http"}
_DEFANG_HINT = re.compile(r"[\[\(\{\\*]|h(?:xx|\*\*|xt|tx)p|fxp", re.IGNORECASE)
_DEFANGED = re.compile(
    rf"""
      (?P<dot>\x20?{_BRACKETED_DOT}\x20?|\\\.)
    | (?P<at>\x20?{_BRACKETED_AT}\x20?)
    | [\[\(\{{]+(?P<separator>:|/+|://)[\]\)\}}]+
    # hxxp, hXXp, h**p, hxtp, hxxps; fxp for ftp (a plain "http" is left as written), and
    # only before a colon, so that words merely starting with "hxxp" stay as they are.
    | \b(?P<scheme>h(?:xx|\*\*|xt|tx)p|fxp)(?P<secure>s?)(?=:|[\[\(\{{]+:)
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _refanged(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "dot":
        return "."
    if kind == "at":
        return "@"
    if kind == "separator":
        return match.group("separator")
    return _SCHEMES[match.group("scheme")[0].lower()] + match.group("secure").lower()


def refang(text: str) -> str:
    """`text` with every defanged separator and scheme restored; idempotent.

    A substitution can uncover another defanged form ("[(.)]" holds "(.)"), so substitution
    repeats until nothing changes; each round shortens the text or removes an "x", so this ends.
    """
    while _DEFANG_HINT.search(text) is not None:
        refanged = _DEFANGED.sub(_refanged, text)
        if refanged == text:
            break
        text = refanged
    return text
