"""Where the knowledge base is: a SQLite file path, or a URL naming a backend.

`--db` and `THREATSCOPE_DB` take either. A path (anything not starting with `scheme://`) is a
SQLite file; `sqlite:///PATH` names one too (SQLAlchemy's form: `sqlite:////abs/kb.db` is
absolute). `postgresql://…` (also `postgres://`, `postgresql+psycopg://`) names a PostgreSQL
database (store/postgres.py). Every other URL is refused before anything is written: an unknown
scheme must not become a folder named `mysql:`.
"""

from __future__ import annotations

import re
from pathlib import Path

from threatscope.errors import ConfigError

__all__ = ["postgres_url", "shown_location", "sqlite_path"]

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.DOTALL)
# Credentials in a URL are not echoed in error messages.
_PASSWORD = re.compile(r"^(?P<head>[^/@:]+://[^/@:]*:)[^/@]*@")
_QUERY_PASSWORD = re.compile(r"(?i)(?P<head>[?&]password=)[^&#]*")
_POSTGRES = ("postgresql", "postgres")


def shown_location(location: str | Path) -> str:
    """`location` as messages show it: a URL's password replaced by `***`."""
    shown = _PASSWORD.sub(r"\g<head>***@", str(location))
    return _QUERY_PASSWORD.sub(r"\g<head>***", shown)


def postgres_url(location: str | Path) -> str | None:
    """The URL if `location` names a PostgreSQL database, else None (a path, another URL)."""
    match = _URL.match(str(location))
    if match is None or match["scheme"].lower().split("+")[0] not in _POSTGRES:
        return None
    return str(location)


def sqlite_path(location: str | Path) -> str:
    """The SQLite file `location` names; a URL of any other backend is a ConfigError (callers
    ask `postgres_url` first where PostgreSQL is served)."""
    text = str(location)
    match = _URL.match(text)
    if match is None:
        return text
    scheme = match["scheme"].lower()
    shown = shown_location(text)
    if scheme == "sqlite":
        path = match["rest"].removeprefix("/")
        if not path:
            raise ConfigError(f"{shown}: names no database file; use sqlite:///PATH or a path")
        return path
    if scheme.split("+")[0] in _POSTGRES:
        raise ConfigError(f"{shown}: names a PostgreSQL database, not a SQLite file")
    raise ConfigError(
        f"{shown}: unknown database scheme {scheme!r}; use a SQLite file path"
        " (or sqlite:///PATH, postgresql://…)"
    )
