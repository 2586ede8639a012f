"""Numbers as the lecture traces print them: short for reading, exact for checking."""

from __future__ import annotations

import math

import numpy as np


def short(value) -> str:
    """6 significant digits: enough to check by hand, short enough to read; arrays as lists."""
    value = float(np.asarray(value).reshape(-1)[0]) if np.size(value) == 1 else value
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return "[" + ", ".join(short(v) for v in np.asarray(value).reshape(-1)) + "]"


def jsonable(value):
    """Floats and nested lists for json, at full precision; inf and nan (not valid JSON) become
    None; None, bools and strings pass through."""
    if value is None or isinstance(value, (bool, str)):
        return value
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        number = float(array)
        return number if math.isfinite(number) else None
    return [jsonable(v) for v in array]
