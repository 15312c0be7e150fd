"""One root for every error ThreatScope raises on purpose.

    ThreatScopeError
    ├── InputError        bad data in a file we were asked to read (carries file + where)
    ├── NotFoundError     a name or id that is not in the knowledge base
    ├── StoreError        the database could not do what was asked
    ├── ConfigError       settings that make no sense (unknown source, bad path, bad option)
    ├── NetworkError      a download failed (refused, timed out, HTTP error status)
    └── ExternalToolError a program we run (Chromium for PDF) failed or hung

The CLI maps NotFoundError to exit code 1 and every other one to exit code 2, printing
`str(error)`, which is always one line. Anything else escaping a command is a bug: the CLI prints
it as one "internal error" line (exit code 1), the traceback only with THREATSCOPE_DEBUG=1.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ExternalToolError",
    "InputError",
    "NetworkError",
    "NotFoundError",
    "ParameterError",
    "StoreError",
    "ThreatScopeError",
]


# Every character str.splitlines breaks at, written as its escape: a message quoting input (an
# actor name with a newline in it) must still be one line.
_LINE_BREAKS = str.maketrans(
    {c: repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
)


class ThreatScopeError(Exception):
    """Base class: every deliberate ThreatScope failure derives from this."""

    def __str__(self) -> str:
        return super().__str__().translate(_LINE_BREAKS)


class InputError(ThreatScopeError):
    """Bad input. `where` names the object (index and id) or row inside `file`."""

    def __init__(self, file: str, reason: str, where: str | None = None) -> None:
        self.file = file
        self.where = where
        self.reason = reason
        location = f"{file}: {where}" if where else file
        super().__init__(f"{location}: {reason}")


class NotFoundError(ThreatScopeError):
    """A lookup found nothing."""


class StoreError(ThreatScopeError):
    """The store refused or failed an operation."""


class ConfigError(ThreatScopeError):
    """A setting, option or path that cannot be used."""


class ParameterError(ConfigError):
    """A bad argument, its message naming the Python parameter; `flag_message` says the same
    in the command's flags, which the CLI prints instead."""

    def __init__(self, message: str, flag_message: str) -> None:
        super().__init__(message)
        self.flag_message = flag_message


class NetworkError(ThreatScopeError):
    """A download failed: the URL, and what went wrong, in one line."""


class ExternalToolError(ThreatScopeError):
    """An external program failed, hung or could not be started."""
