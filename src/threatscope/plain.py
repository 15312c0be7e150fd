"""Plain Python values for JSON boundaries: numpy scalars and arrays become floats, ints, lists.

orjson refuses numpy scalars (even `numpy.float64`, a `float` subclass), so anything computed
with numpy must be converted before it leaves the library as a result or is stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plain"]


def plain(value: Any) -> Any:
    """`value` with every numpy scalar or array inside dicts, lists and tuples made plain."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
