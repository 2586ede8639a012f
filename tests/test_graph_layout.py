"""The layered layout shared by the pictures and the step-through page."""

import pytest

from lograd.autodiff.layout import columns, layered_layout


def test_columns_by_longest_path_and_leaves_beside_their_user():
    inputs = {"z": ["w", "x", "b"], "a": ["z"], "L": ["a", "y"], "J": ["L"]}
    order = ["w", "x", "b", "y", "z", "a", "L", "J"]
    column = columns(order, inputs)
    assert column == {"w": 0, "x": 0, "b": 0, "z": 1, "a": 2, "y": 2, "L": 3, "J": 4}


def test_a_long_edge_gets_a_waypoint_in_each_column_it_crosses():
    inputs = {"b": ["a"], "c": ["b"], "d": ["c", "a"]}  # a -> d skips two columns
    layout = layered_layout(["a", "b", "c", "d"], inputs)
    assert layout.n_columns == 4 and layout.n_rows == 2
    long_route = next(r for r in layout.routes if r[0] == "a" and r[-1] == "d")
    assert [layout.position[key][0] for key in long_route] == [0, 1, 2, 3]
    slots = {}
    for key, (col, height) in layout.position.items():  # no two keys share a slot
        assert (col, height) not in slots, (key, slots.get((col, height)))
        slots[(col, height)] = key


@pytest.mark.parametrize("width", [1, 3, 8])
def test_heights_are_centred_and_one_apart(width):
    inputs = {"out": [f"in{i}" for i in range(width)]}
    layout = layered_layout([f"in{i}" for i in range(width)] + ["out"], inputs)
    heights = sorted(layout.position[f"in{i}"][1] for i in range(width))
    assert heights == [h - (width - 1) / 2 for h in range(width)]
    assert layout.position["out"] == (1, 0.0)
