"""The one JSON codec of lograd: every JSON it writes is valid JSON (RFC 8259), read back exactly.

JSON has no infinity and no NaN, and only strings as object keys. :func:`encode` makes a value
JSON-ready, and :func:`decode` undoes it:

- a non-finite float becomes ``{"__float__": "inf"}`` (``"-inf"``, ``"nan"``), as model files
  have always written it;
- a dict whose keys are not all strings becomes ``{"__pairs__": [[key, value], ...]}``
  (``class_weight={0: 1.0, 1: 3.0}``); its keys come back as ints, floats, strings or tuples;
- NumPy scalars become Python numbers, arrays and tuples become lists.

Reading also takes the bare ``Infinity``, ``-Infinity`` and ``NaN`` that are not JSON but that
checkpoints held before this codec (Python's ``json`` wrote them), so those files still load.
Model files, checkpoints, ``lograd explain --json``, ``lograd evaluate --json`` and the
step-through page all write through here.
"""

from __future__ import annotations

import json
import math

import numpy as np

FLOAT_TAG = "__float__"
PAIRS_TAG = "__pairs__"
_NON_FINITE = ("inf", "-inf", "nan")


class BadJSON(ValueError):
    """A tagged structure :func:`encode` never writes (a phrase: no file name)."""


def encode(value, default=None):
    """``value`` made of JSON's types only (see the module).

    Parameters
    ----------
    value : None, bool, int, float, str, NumPy scalar or array, or a list, tuple or dict of them
    default : callable, optional
        ``default(value) -> JSON-ready value`` for any other type; without it, TypeError.

    Returns
    -------
    A value that ``json.dumps(..., allow_nan=False)`` writes.
    """
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: encode(item, default) for key, item in value.items()}
        return {PAIRS_TAG: [[encode(key, default), encode(item, default)]
                            for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return [encode(item, default) for item in value]
    if isinstance(value, np.ndarray):
        return encode(value.tolist(), default)
    if isinstance(value, np.generic):
        return encode(value.item(), default)
    if isinstance(value, float) and not math.isfinite(value):
        return {FLOAT_TAG: repr(value)}  # 'inf', '-inf' or 'nan'
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if default is not None:
        return encode(default(value))
    raise TypeError(f"cannot store {type(value).__name__} value {value!r}")


def decode(value):
    """The inverse of :func:`encode`: floats and dicts back from their tagged forms.

    Raises
    ------
    BadJSON
        For a ``__pairs__`` object that :func:`encode` never writes.
    """
    if isinstance(value, dict):
        if set(value) == {PAIRS_TAG}:
            pairs = value[PAIRS_TAG]
            if not isinstance(pairs, list) or not all(
                    isinstance(pair, list) and len(pair) == 2 for pair in pairs):
                raise BadJSON(f"a '{PAIRS_TAG}' entry is not a list of [key, value] pairs")
            return {_hashable(decode(key)): decode(item) for key, item in pairs}
        if set(value) == {FLOAT_TAG} and value[FLOAT_TAG] in _NON_FINITE:
            return float(value[FLOAT_TAG])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def dumps(value, *, default=None, **options) -> str:
    """``value`` as JSON text: :func:`encode`, then ``json.dumps`` with ``options`` (``indent``,
    ``separators``, ...), which refuses anything that is not JSON."""
    return json.dumps(encode(value, default), allow_nan=False, **options)


def loads(text):
    """The value of JSON text written by :func:`dumps` (or by Python's ``json``, whose
    ``Infinity`` and ``NaN`` are taken too).

    Raises
    ------
    ValueError
        For text that is not JSON (``json.JSONDecodeError``) or a tag :func:`encode` never
        writes (:class:`BadJSON`).
    """
    return decode(json.loads(text))


def _hashable(key):
    if isinstance(key, list):
        return tuple(_hashable(item) for item in key)
    if isinstance(key, dict):
        raise BadJSON(f"a '{PAIRS_TAG}' key is a JSON object")
    return key


__all__ = ["encode", "decode", "dumps", "loads", "BadJSON", "FLOAT_TAG", "PAIRS_TAG"]
