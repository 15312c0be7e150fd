"""Reading input files, with every failure turned into one InputError line, and writing output
files so that no reader ever sees half of one and no planted file or symlink is written through."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from threatscope import json_input
from threatscope.errors import ConfigError, InputError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MiB",
    "atomic_output",
    "byte_size",
    "read_input",
    "read_json",
    "write_atomically",
]

MiB = 1 << 20
# Generous: the largest input we know, ATT&CK Enterprise, is 33 MB; a limit only has to stop
# a file (or a device, or a file growing under us) from taking all the memory there is.
DEFAULT_MAX_BYTES = 512 * MiB
_CHUNK = 16 * MiB
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_input(path: Path, expected: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of `path`, a regular file of at most `max_bytes`; `expected` says what it
    should be, for the error message.

    This is the one place that decides what may be read: a FIFO, a device (`/dev/zero`) or a
    socket is refused before a byte is read, and the read itself stops one byte past the
    limit, so a file that grows while we read it (or a /proc file whose size says 0) is
    bounded too.
    """
    name = str(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever; it changes
        # nothing for the regular files we go on to read.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except IsADirectoryError:
        raise InputError(name, f"is a directory, expected {expected}") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a Unix socket, or a device with no driver behind it
            raise InputError(name, _not_regular(os.stat(path).st_mode, expected)) from None
        raise InputError(name, f"cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(name, f"is a directory, expected {expected}")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(name, _not_regular(info.st_mode, expected))
        if info.st_size > max_bytes:
            too_big = f"over the {byte_size(max_bytes)} limit for {expected}"
            raise InputError(name, f"is {byte_size(info.st_size)}, {too_big}")
        data = _read_at_most(fd, max_bytes, info.st_size)
    except OSError as exc:
        raise InputError(name, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if data is None:
        raise InputError(name, f"holds more than {byte_size(max_bytes)}, the limit for {expected}")
    return data


def _read_at_most(fd: int, max_bytes: int, expected_size: int) -> bytes | None:
    """The rest of `fd`, or None once it passes `max_bytes`. The first read asks for one byte
    more than the size stat gave, so the usual file is one read and one allocation."""
    parts: list[bytes] = []
    size = 0
    want = min(expected_size, max_bytes) + 1
    while block := os.read(fd, want):
        parts.append(block)
        size += len(block)
        if size > max_bytes:
            return None
        want = min(_CHUNK, max_bytes + 1 - size)
    return b"".join(parts)


def _not_regular(mode: int, expected: str) -> str:
    kind = next((kind for test, kind in _SPECIAL_KINDS if test(mode)), "a special file")
    return f"is {kind}, not a regular file; expected {expected}"


def byte_size(count: int) -> str:
    """`count` bytes for a person: 1.5 MiB, 512 MiB, 900 bytes."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"


def read_json(path: Path, expected: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """The JSON document in `path`: a UTF-8 BOM is allowed, an integer wider than 64 bits is
    refused (orjson would round it to a float)."""
    try:
        return json_input.loads(read_input(path, expected, max_bytes))
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
