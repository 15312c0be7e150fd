"""JSON text from files we were asked to read, parsed exactly or refused.

orjson is fast but turns an integer outside the 64-bit range into a float, silently changing
it (18446744073709551616 becomes 1.8446744073709552e+19), and refuses a UTF-8 byte order mark
that Windows tools write and our CSV importers accept. Here a BOM is dropped and a too-wide
integer is refused, naming where it is: STIX integers are at most 54 bits (STIX 2.1 §2.11),
so such a value is bad input, not something to round.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["JSONInputError", "loads"]

_BOM = b"\xef\xbb\xbf"
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what orjson keeps as an int
# Every integer outside the range has 19 or more digits. Such runs are found by mapping every
# digit to "0" and searching for 19 zeros (a regular expression over the digits of ATT&CK's
# timestamps and uuids takes over ten times longer); a run is a number token only with `:`, `[`
# or `,` before it and a delimiter, fraction or exponent after it. Digit runs inside strings
# (x.com status ids in ATT&CK and MISP references) are not, so the exact slow path below almost
# never runs on real data.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_RUN = b"0" * 19
_ZERO = ord("0")
_WHITESPACE = b" \t\r\n-"
_AFTER_NUMBER = b" \t\r\n,]}.eE"


class JSONInputError(ValueError):
    """Not JSON, or JSON holding an integer that cannot be kept exactly."""


def loads(data: bytes | str) -> Any:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise JSONInputError(f"not valid JSON: {error}") from None
    if _has_long_number(data):
        _refuse_wide_integers(data)
    return value


def _has_long_number(data: bytes) -> bool:
    flat = data.translate(_DIGITS_AS_ZERO)
    at = flat.find(_RUN)
    while at != -1:
        before = at - 1
        while before >= 0 and data[before] in _WHITESPACE:
            before -= 1
        end = at + len(_RUN)
        while end < len(flat) and flat[end] == _ZERO:
            end += 1
        starts_token = before < 0 or data[before] in b":[,"
        if starts_token and (end == len(data) or data[end] in _AFTER_NUMBER):
            return True
        at = flat.find(_RUN, end)
    return False


def _refuse_wide_integers(data: bytes) -> None:
    """Parse again with the standard library, whose integers are exact, and name the first
    integer orjson could not have kept."""
    try:
        exact = json.loads(data)
    except ValueError:  # Python's limit of 4300 digits for an int
        raise JSONInputError(
            "an integer too long to read (thousands of digits) cannot be kept exactly"
        ) from None
    except RecursionError:
        raise JSONInputError("nested too deeply to check its integers") from None
    stack: list[tuple[str, Any]] = [("", exact)]
    while stack:  # depth first, in document order
        where, value = stack.pop()
        if isinstance(value, dict):
            items = [(f"{where}.{key}" if where else key, v) for key, v in value.items()]
            stack.extend(reversed(items))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{where}[{i}]", v) for i, v in enumerate(value)]))
        elif isinstance(value, int) and not _INT_MIN <= value <= _INT_MAX:
            digits = str(value)
            shown = digits if len(digits) <= 40 else f"{digits[:20]}… ({len(digits)} digits)"
            raise JSONInputError(
                f"{where or 'the document'}: integer {shown} is wider than 64 bits and"
                " cannot be kept exactly (STIX integers are at most 54 bits)"
            )
