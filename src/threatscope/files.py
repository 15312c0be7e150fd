"""Reading input files, with every failure turned into one InputError line, and writing output
files so that no reader ever sees half of one and no planted file or symlink is written through."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from threatscope import json_input
from threatscope.errors import ConfigError, InputError

__all__ = ["atomic_output", "read_input", "read_json", "write_atomically"]


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
    """The JSON document in `path`: a UTF-8 BOM is allowed, an integer wider than 64 bits is
    refused (orjson would round it to a float)."""
    try:
        return json_input.loads(read_input(path, expected))
    except json_input.JSONInputError as exc:
        raise InputError(str(path), str(exc)) from None


@contextlib.contextmanager
def atomic_output(
    path: Path, protect: Path | None = None, parents: bool = False
) -> Iterator[IO[bytes]]:
    """A binary file that becomes `path` only when the block ends without an error.

    The bytes go to a fresh file in the target's directory that nobody else can have created
    (mkstemp: O_CREAT|O_EXCL, a random name, mode 0600), which is then renamed over `path`: a
    predictable `path.part`, or a symlink planted there, would be written through. `protect` is a
    file this output must never replace (the knowledge base a command reads from); `parents`
    creates missing directories (caches and models), which a user's output path never gets.
    """
    path = Path(path)
    if protect is not None and _same_file(path, Path(protect)):
        raise ConfigError(f"{path}: is the knowledge base being read; choose another output file")
    try:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
    except OSError as error:
        raise ConfigError(f"{path}: cannot write: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.chmod(temporary, 0o644 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        raise ConfigError(f"{path}: cannot write: {error.strerror or error}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def write_atomically(
    path: Path, data: bytes, protect: Path | None = None, parents: bool = False
) -> None:
    with atomic_output(path, protect, parents) as out:
        out.write(data)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
