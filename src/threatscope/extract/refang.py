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
# hxxp, hXXp, h**p, hxtp, hxxps; fxp for ftp (a plain "http" is left as written), and only
# before a colon, so that words merely starting with "hxxp" stay as they are.
_SCHEME = re.compile(
    r"\b(?P<scheme>h(?:xx|\*\*|xt|tx)p|fxp)(?P<secure>s?)(?=:|[\[\(\{]+:)", re.IGNORECASE
)
_OPENERS = frozenset("[({")
_CLOSERS = frozenset("])}")
# Where the stack may reduce: after a dot ("\\." -> "."), after a run of closing brackets.
_ACTION = re.compile(r"\.|[\]\)\}]+")


def _scheme(match: re.Match[str]) -> str:
    return _SCHEMES[match.group("scheme")[0].lower()] + match.group("secure").lower()


def refang(text: str) -> str:
    """`text` with every defanged separator and scheme restored; idempotent.

    A substitution can uncover another defanged form ("[(.)]" holds "(.)", "[ [.] ]" holds
    " [.] ", "\\\\." holds "\\."). Substituting every form until nothing changes takes one pass
    per level, quadratic in a deep nest (issue 11); this gives the same result in one pass,
    reducing on a stack as a shift-reduce parser does: a bracketed form is replaced when its
    last closing bracket arrives, so the innermost goes first and what it leaves can complete
    the form around it. Schemes take one pass of their own: no substitution makes a new one.
    """
    if _DEFANG_HINT.search(text) is None:
        return text
    text = _SCHEME.sub(_scheme, text)
    out: list[str] = []
    i = 0
    while (action := _ACTION.search(text, i)) is not None:
        out.extend(text[i : action.end()])
        i = action.end()
        if action.group() == ".":
            _unescape_dot(out)
        else:
            i = _reduce(out, text, i)
    out.extend(text[i:])
    return "".join(out)


def _unescape_dot(out: list[str]) -> None:
    """`\\.` -> `.` at the top of `out`, however many backslashes stand before the dot."""
    if len(out) >= 2 and out[-2] == "\\":
        del out[-1]
        while out and out[-1] == "\\":
            del out[-1]
        out.append(".")


def _reduce(out: list[str], text: str, i: int) -> int:
    """Replace the bracketed form that ends at the top of `out`, if one does; `text[i:]` is the
    input still to read. Returns where reading resumes (after a space the form took)."""
    closers = len(out)
    while closers > 0 and out[closers - 1] in _CLOSERS:
        closers -= 1
    core, start = _core(out, closers)
    if not core:
        return i
    openers = start
    while openers > 0 and out[openers - 1] in _OPENERS:
        openers -= 1
    if openers == start:
        return i
    if core in ".@":  # dots and ats may carry a space on either side: "evil [.] com"
        if openers > 0 and out[openers - 1] == " ":
            openers -= 1
        if i < len(text) and text[i] == " ":
            i += 1
    del out[openers:]
    out.extend(core)
    if core == ".":
        _unescape_dot(out)
    return i


def _core(out: list[str], end: int) -> tuple[str, int]:
    """What the brackets before `end` hold: (its refanged form, where it starts), or ("", end)."""
    last = out[end - 1] if end > 0 else ""
    if last in (".", "@", ":"):
        return last, end - 1
    if last == "/":
        start = end - 1
        while start > 0 and out[start - 1] == "/":
            start -= 1
        if start > 0 and out[start - 1] == ":":
            return ("://", start - 1) if end - start == 2 else ("", end)
        return "/" * (end - start), start
    word = "".join(out[max(0, end - 3) : end]).lower()
    if word == "dot":
        return ".", end - 3
    if word.endswith("at"):
        return "@", end - 2
    return "", end
