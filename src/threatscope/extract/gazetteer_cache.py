"""The gazetteer as last built, kept in the user's cache: building it reads four MISP galaxies and
the knowledge base's names and technique prose, a third of a second of every `extract` (issue 12,
item 3); loading it back takes a tenth of that.

The file holds one gazetteer and the key it was built for; a different key (another knowledge
base, another release of a data package, changed code) rebuilds it and replaces the file.
"""

from __future__ import annotations

import contextlib
import pickle
from pathlib import Path

from threatscope.errors import ConfigError
from threatscope.extract.gazetteer import Gazetteer
from threatscope.files import write_atomically

__all__ = ["load", "save"]


def _path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("threatscope")) / "gazetteer.pickle"


def load(key: str) -> Gazetteer | None:
    """The cached gazetteer built for `key`, or None (absent, for another key, or damaged)."""
    try:
        stored_key, gazetteer = pickle.loads(_path().read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError,
            ValueError):  # fmt: skip
        return None
    if stored_key != key or not isinstance(gazetteer, Gazetteer):
        return None
    return gazetteer


def save(key: str, gazetteer: Gazetteer) -> None:
    with contextlib.suppress(ConfigError):  # a read-only home still works, just slower
        data = pickle.dumps((key, gazetteer), protocol=pickle.HIGHEST_PROTOCOL)
        write_atomically(_path(), data, parents=True)
