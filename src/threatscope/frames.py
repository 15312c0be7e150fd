"""pandas DataFrames from results; pandas is an optional extra (`threatscope[pandas]`).

pandas is imported only when a frame is asked for: the CLI and every other method work without
it, and importing threatscope stays as fast as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from threatscope.errors import ConfigError

__all__ = ["PandasMissingError", "data_frame"]


class PandasMissingError(ConfigError, ImportError):
    """pandas is not installed: an ImportError as Python code expects for a missing optional
    dependency, and a ThreatScopeError (one line, exit code 2) for everything else."""


def data_frame(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Any:
    """A `pandas.DataFrame` of `rows` with `columns` in this order (also when there are none)."""
    try:
        pandas = importlib.import_module("pandas")
    except ImportError:
        raise PandasMissingError(
            "to_frame() needs pandas, which is not installed: pip install 'threatscope[pandas]'"
        ) from None
    return pandas.DataFrame(list(rows), columns=list(columns))
