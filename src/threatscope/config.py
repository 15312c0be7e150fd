"""Where things live: the database file and the shared data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["default_db_path", "shared_data_dir"]


def default_db_path() -> Path:
    """`THREATSCOPE_DB`, else `threatscope.db` in the user data directory."""
    env = os.environ.get("THREATSCOPE_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("threatscope")) / "threatscope.db"


def shared_data_dir() -> Path:
    """`THREATSCOPE_DATA`, else `../shared/data` seen from the working directory.

    The directory may not exist: callers decide whether its absence is an error or a skip.
    """
    return Path(os.environ.get("THREATSCOPE_DATA", "../shared/data"))
