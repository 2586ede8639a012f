"""Pictures of engine graphs: walk, layout, and the files written."""

import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import scipy.sparse as sp
from matplotlib.figure import Figure
from matplotlib.image import imread

import lograd
from lograd.autodiff import ops
from lograd.autodiff.pictures import graph_figure, graph_nodes, layers
from lograd.errors import UserError
from lograd.lectures.drawing import draw_graph
from lograd.lectures.logistic import explain

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def small_graph():
    w = lograd.Tensor([0.5, -1.0], requires_grad=True, name="w")
    b = lograd.Tensor(0.25, requires_grad=True, name="b")
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    z = X @ w + b
    loss = ops.sigmoid_cross_entropy(z, np.array([1.0, 0.0])).mean()
    loss.name = "J"
    loss.backward()
    return loss, w, b


def svg_text(path):
    root = ET.parse(path).getroot()  # also proves the file is well-formed XML
    assert root.tag.endswith("svg")
    return [el.text for el in root.iter() if el.tag.endswith("text") and el.text]


def test_walk_lists_inputs_before_their_users_once_each():
    loss, w, b = small_graph()
    nodes = graph_nodes(loss)
    index = {id(n): i for i, n in enumerate(nodes)}
    assert len(index) == len(nodes) and nodes[-1] is loss
    assert id(w) in index and id(b) in index
    for node in nodes:
        assert all(index[id(p)] < index[id(node)] for p in node.parents)
    # constants (the data X, the labels y, the 1/m factor) are drawn too
    assert sum(1 for n in nodes if not n.requires_grad) == 3


def test_walk_survives_a_deep_graph():
    x = lograd.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):  # deeper than Python's recursion limit
        y = y * 1.0
    assert len(graph_nodes(y)) == 1 + 2 * 5000


def test_layers_put_each_node_right_of_its_inputs_and_inputs_beside_their_user():
    trace = explain()
    nodes = graph_nodes(trace.graph)
    column = layers(nodes)
    for node in nodes:
        for parent in node.parents:
            assert column[id(parent)] < column[id(node)]
        if node.op is not None:  # longest path: exactly one past the furthest input
            assert column[id(node)] == 1 + max(column[id(p)] for p in node.parents)
    by_name = {n.name: n for n in nodes if n.name}
    assert column[id(by_name["y"])] == column[id(by_name["y*log(a)"])] - 1
    assert column[id(by_name["b"])] == column[id(by_name["z"])] - 1


def test_svg_holds_the_labels_values_and_gradients(tmp_path):
    trace = explain()
    path = draw_graph(trace.graph, tmp_path / "lecture.svg", title="lecture")
    texts = svg_text(path)
    for name in ("x1", "x2", "w1", "w2", "b", "z [add]", "a [sigmoid]", "L [neg]"):
        assert name in texts, name
    assert f"grad {trace.dz[0]:.6g}" in texts  # dL/dz and dL/db
    assert f"grad {trace.dw[1]:.6g}" in texts
    assert f"grad {trace.da[0]:.6g}" in texts
    assert f"value {trace.a[0]:.6g}" in texts
    assert "lecture" in texts


def test_png_is_a_readable_image(tmp_path):
    loss, _, _ = small_graph()
    path = draw_graph(loss, tmp_path / "g.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 300
    assert image.std() > 0.01  # not a blank canvas


def test_arrays_show_shapes_and_sparse_data_is_drawn(tmp_path):
    X = sp.random(5, 3, density=0.5, format="csr", random_state=0)
    w = lograd.Tensor(np.ones(3), requires_grad=True, name="w")
    total = (X @ w).sum()
    total.backward()
    texts = svg_text(draw_graph(total, tmp_path / "s.svg"))
    assert "value shape (3,)" in texts and "grad shape (3,)" in texts
    assert "value sparse (5, 3)" in texts
    assert "matmul" in texts and "sum" in texts  # unnamed nodes show their op


def test_figure_is_returned_for_embedding():
    loss, _, _ = small_graph()
    fig = graph_figure(loss)
    assert isinstance(fig, Figure)
    width, height = fig.get_size_inches()
    assert width > height > 0


def test_too_large_a_graph_is_refused():
    x = lograd.Tensor(1.0, requires_grad=True)
    for _ in range(200):
        x = x + 1.0
    with pytest.raises(ValueError, match="max_nodes"):
        graph_figure(x)


def test_writes_atomically_and_replaces(tmp_path):
    loss, _, _ = small_graph()
    target = tmp_path / "g.svg"
    target.write_text("old")
    draw_graph(loss, target)
    assert target.read_text().lstrip().startswith("<?xml")
    assert sorted(os.listdir(tmp_path)) == ["g.svg"]  # no temporary file left behind
    assert target.stat().st_mode & 0o644 == 0o644  # not the temp file's private 0600


@pytest.mark.parametrize("name, message", [("g.jpg", "cannot draw"), ("g", "no extension"),
                                           ("missing/g.png", "does not exist")])
def test_bad_paths_are_user_errors_and_write_nothing(tmp_path, name, message):
    loss, _, _ = small_graph()
    with pytest.raises(UserError, match=message):
        draw_graph(loss, tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    loss, _, _ = small_graph()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", fail)
    with pytest.raises(UserError, match="g.png: cannot write .disk full"):
        draw_graph(loss, tmp_path / "g.png")
    assert os.listdir(tmp_path) == []


def test_small_matrices_are_drawn_by_value_in_boxes_that_fit_and_never_overlap(tmp_path):
    from matplotlib.patches import FancyBboxPatch

    from lograd.lectures.network import explain_network

    trace = explain_network(hidden=3)  # W1 (3, 2), b1 (3, 1), W2 (1, 3); Z1 (3, 5), X (2, 5)
    texts = svg_text(draw_graph(trace.graph, tmp_path / "net.svg"))
    assert "value (3, 2)" in texts and "value (3, 1)" in texts and "grad (1, 3)" in texts
    rows = [[float(v) for v in text.strip("[] ").split()] for text in texts
            if text.startswith("[")]
    for matrix in (trace.W1, trace.dW1, trace.W2):  # row by row, 3 significant digits
        for row in matrix:
            assert [float(f"{v:.3g}") for v in row] in rows
    assert "value shape (3, 5)" in texts and "value shape (2, 5)" in texts
    fig = graph_figure(trace.graph)
    boxes = [patch.get_window_extent() for patch in fig.axes[0].patches
             if isinstance(patch, FancyBboxPatch)]
    assert len(boxes) == len(graph_nodes(trace.graph))
    for i, one in enumerate(boxes):
        assert all(not one.overlaps(other) for other in boxes[i + 1:])
    tall = max(box.height for box in boxes)
    assert tall > 2 * min(box.height for box in boxes)  # the matrices' boxes grew to fit
