"""Where the knowledge base is: a SQLite file path, or a URL naming a backend.

`--db` and `THREATSCOPE_DB` take either. A path (anything not starting with `scheme://`) is a
SQLite file; `sqlite:///PATH` names one too (SQLAlchemy's form: `sqlite:////abs/kb.db` is
absolute). Every other URL is refused before anything is written: PostgreSQL is planned but not
available yet, and an unknown scheme must not become a folder named `postgresql:`.
"""

from __future__ import annotations

import re
from pathlib import Path

from threatscope.errors import ConfigError

__all__ = ["sqlite_path"]

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.DOTALL)
# Credentials in a URL are not echoed in error messages.
_PASSWORD = re.compile(r"^(?P<head>[^/@:]+://[^/@:]*:)[^/@]*@")
_PLANNED = ("postgresql", "postgres")


def sqlite_path(location: str | Path) -> str:
    """The SQLite file `location` names; a URL of any other backend is a ConfigError."""
    text = str(location)
    match = _URL.match(text)
    if match is None:
        return text
    scheme = match["scheme"].lower()
    shown = _PASSWORD.sub(r"\g<head>***@", text)
    if scheme == "sqlite":
        path = match["rest"].removeprefix("/")
        if not path:
            raise ConfigError(f"{shown}: names no database file; use sqlite:///PATH or a path")
        return path
    if scheme.split("+")[0] in _PLANNED:
        raise ConfigError(
            f"{shown}: the PostgreSQL backend is not available yet; use a SQLite file path"
        )
    raise ConfigError(
        f"{shown}: unknown database scheme {scheme!r}; use a SQLite file path (or sqlite:///PATH)"
    )
