"""Numbers as the lecture traces print them: short for reading, exact for checking."""

from __future__ import annotations

import math

import numpy as np

from lograd.files import json_codec


def short(value) -> str:
    """6 significant digits: enough to check by hand, short enough to read; arrays as lists."""
    value = float(np.asarray(value).reshape(-1)[0]) if np.size(value) == 1 else value
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return "[" + ", ".join(short(v) for v in np.asarray(value).reshape(-1)) + "]"


def jsonable(value):
    """Floats and nested lists for JSON, at full precision; inf and nan (not JSON numbers) as
    the one JSON codec writes them (``{"__float__": "inf"}``, see :mod:`lograd.files.json_codec`);
    None, bools and strings pass through."""
    if value is None or isinstance(value, (bool, str)):
        return value
    array = np.asarray(value, dtype=np.float64)
    return json_codec.encode(array.tolist())


def format_table(header, rows) -> list[str]:
    """Left-aligned columns separated by two spaces (cells never contain two spaces)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip()
            for line in [header, *rows]]


def diff_text(value) -> str:
    """A difference such as max |engine - closed form|: ``1.1e-16``; ``-`` for None."""
    if value is None:
        return "-"
    return f"{value:.1e}" if math.isfinite(value) else str(value)
