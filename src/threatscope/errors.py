"""One root for every error ThreatScope raises on purpose.

    ThreatScopeError
    ├── InputError        bad data in a file we were asked to read (carries file + where)
    ├── NotFoundError     a name or id that is not in the knowledge base
    ├── StoreError        the database could not do what was asked
    └── ConfigError       settings that make no sense (unknown source, bad path)

The CLI maps InputError and ConfigError to exit code 2 and NotFoundError to exit code 1, printing
`str(error)`, which is always one line.
"""

from __future__ import annotations

__all__ = ["ConfigError", "InputError", "NotFoundError", "StoreError", "ThreatScopeError"]


class ThreatScopeError(Exception):
    """Base class: every deliberate ThreatScope failure derives from this."""


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
