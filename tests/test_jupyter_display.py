"""How Tensors show themselves in Jupyter: the graph as SVG, text for leaves and huge graphs."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import lograd
from lograd.autodiff import jupyter
from lograd.lectures.logistic import explain


def test_a_graph_displays_as_svg_with_its_nodes_and_a_text_fallback():
    trace = explain()
    bundle = trace.graph._repr_mimebundle_()
    assert bundle["text/plain"] == repr(trace.graph)
    root = ET.fromstring(bundle["image/svg+xml"])  # well-formed SVG
    texts = [el.text for el in root.iter() if el.tag.endswith("text") and el.text]
    for name in ("x1", "w2", "b", "z [add]", "a [sigmoid]", "L [neg]"):
        assert name in texts, name
    assert f"grad {trace.dz[0]:.6g}" in texts


def test_ipython_asks_and_gets_only_what_it_wants():
    graph = explain().graph
    assert set(graph._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(graph._repr_mimebundle_(exclude={"image/svg+xml"})) == {"text/plain"}
    formatter = pytest.importorskip("IPython.core.formatters")
    data, _ = formatter.DisplayFormatter().format(graph)
    assert "image/svg+xml" in data and data["text/plain"] == repr(graph)


def test_a_leaf_and_a_huge_graph_show_text_without_drawing(monkeypatch):
    def no_drawing(*args, **kwargs):
        raise AssertionError("drew a picture")

    monkeypatch.setattr("lograd.autodiff.pictures.graph_svg", no_drawing)
    assert lograd.Tensor(2.0)._repr_mimebundle_() == {"text/plain": repr(lograd.Tensor(2.0))}
    x = lograd.Tensor(1.0, requires_grad=True)
    for _ in range(50_000):
        x = x * 1.0
    bundle = x._repr_mimebundle_()
    assert set(bundle) == {"text/plain"} and "more than 60 nodes" in bundle["text/plain"]


def test_counting_stops_past_the_limit():
    x = lograd.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10):
        y = y + x  # 10 adds, each with a constant-free pair of inputs: 11 nodes
    assert jupyter.graph_size(y, 100) == 11
    assert jupyter.graph_size(y, 4) == 5


def test_importing_tensor_loads_no_matplotlib():
    code = ("import sys\nfrom lograd import Tensor\nTensor(1.0)._repr_mimebundle_()\n"
            "print('matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == "False", result.stderr
