"""Where things live: the database file and the shared data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["default_db_location", "shared_data_dir"]


def default_db_location() -> str:
    """`THREATSCOPE_DB`, else `threatscope.db` in the user data directory.

    A string, not a Path: the setting may be a database URL, which Path would mangle
    (`postgresql://h/db` -> `postgresql:/h/db`); `store.open_store` decides what it names.
    """
    env = os.environ.get("THREATSCOPE_DB")
    if env:
        return env
    return str(Path(platformdirs.user_data_dir("threatscope")) / "threatscope.db")


def shared_data_dir() -> Path:
    """`THREATSCOPE_DATA`, else `../shared/data` seen from the working directory.

    The directory may not exist: callers decide whether its absence is an error or a skip.
    """
    return Path(os.environ.get("THREATSCOPE_DATA", "../shared/data"))
