"""Reading input files, with every failure turned into one InputError line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from threatscope.errors import InputError

__all__ = ["read_input", "read_json"]


def read_input(path: Path, expected: str) -> bytes:
    """The bytes of `path`; `expected` says what it should be, for the error message."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except IsADirectoryError:
        raise InputError(str(path), f"is a directory, expected {expected}") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None


def read_json(path: Path, expected: str) -> Any:
    try:
        return orjson.loads(read_input(path, expected))
    except orjson.JSONDecodeError as exc:
        raise InputError(str(path), f"not valid JSON: {exc}") from None
