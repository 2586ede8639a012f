"""lograd.files.json_codec: valid JSON only, read back exactly, and the old files' JSON read."""

import json
import math
import re

import numpy as np
import pytest

from lograd.files import json_codec


def strict(text):
    """Python's json, refusing what is not JSON (bare Infinity, NaN)."""
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


VALUES = {
    "floats": [0.1, -0.0, 1e308, 5e-324, float("inf"), float("-inf")],
    "numpy": {"scalar": np.float32(0.25), "int": np.int64(-3), "array": np.array([[1, 2], [3, 4]]),
              "bool": np.bool_(True)},
    "class weights": {0: 1.5, 1: 3.0, "other": None},
    "tuple keys": {(1, "a"): [True, None]},
    "text": ["", "__float__", {"__float__": "not a tag"}, {"__pairs__x": 1}],
    "nested": {"a": [{"b": (1, 2.5, float("-inf"))}]},
}


@pytest.mark.parametrize("name", VALUES)
def test_writes_valid_json_that_reads_back_exactly(name):
    value = VALUES[name]
    text = json_codec.dumps(value, indent=2)
    strict(text)  # no bare Infinity/NaN anywhere
    back = json_codec.loads(text)
    if name == "class weights":
        assert back == {0: 1.5, 1: 3.0, "other": None}
    elif name == "tuple keys":
        assert back == {(1, "a"): [True, None]}
    else:
        expected = json.loads(json.dumps(value, default=lambda v: v.tolist()))  # tuples: lists
        assert back == expected
        assert json.dumps(back) == json.dumps(expected)  # same floats, bit for bit (repr)


def test_nan_reads_back_as_nan_and_non_finite_floats_are_tagged():
    text = json_codec.dumps({"x": float("nan"), "y": [float("inf"), np.float64("-inf")]})
    assert strict(text) == {"x": {"__float__": "nan"},
                            "y": [{"__float__": "inf"}, {"__float__": "-inf"}]}
    back = json_codec.loads(text)
    assert math.isnan(back["x"]) and back["y"] == [math.inf, -math.inf]


def test_the_bare_constants_of_old_checkpoints_are_read():
    back = json_codec.loads('{"best_score": -Infinity, "C": Infinity, "x": NaN}')
    assert back["best_score"] == -math.inf and back["C"] == math.inf and math.isnan(back["x"])


def test_what_it_cannot_store_is_a_type_error_naming_it_unless_a_default_is_given():
    with pytest.raises(TypeError, match="cannot store object value"):
        json_codec.dumps({"a": object()})
    assert json_codec.loads(json_codec.dumps({"a": {1, 2}}, default=sorted)) == {"a": [1, 2]}


@pytest.mark.parametrize("text, fragment", [
    ('{"__pairs__": 3}', "not a list of [key, value] pairs"),
    ('{"__pairs__": [[1]]}', "not a list of [key, value] pairs"),
    ('{"__pairs__": [[{"a": 1}, 2]]}', "key is a JSON object"),
])
def test_a_tag_it_never_writes_is_bad_json(text, fragment):
    with pytest.raises(json_codec.BadJSON, match=re.escape(fragment)):
        json_codec.loads(text)
