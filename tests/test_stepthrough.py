"""The step-through page's model and HTML, without a browser (tests/test_stepthrough_browser.py
opens it in one)."""

import html
import json
import os
import re

import numpy as np
import pytest

from lograd.errors import UserError
from lograd.lectures.logistic import explain
from lograd.lectures.page import PageNode, StepThrough, Term, Update

CASES = {
    "one example": dict(x=[1.0, 2.0], w=[0.5, -1.0], b=0.25, y=1.0, alpha=0.1),
    "m examples": dict(x=[[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [-2.0, 0.25]], w=[0.5, -1.0],
                       b=0.25, y=[1.0, 0.0, 1.0, 0.0], alpha=0.3),
    "saturated": dict(x=[[40.0], [1.0]], w=[1.0], b=0.0, y=[0.0, 1.0], alpha=0.1),
}


def embedded_model(page: str) -> dict:
    """The JSON the page's script reads, parsed as the browser would."""
    match = re.search(r'<script type="application/json" id="lograd-model">(.*?)</script>', page,
                      re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))


def strict(text):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("case", CASES)
def test_page_numbers_are_the_json_numbers_exactly(case):
    trace = explain(**CASES[case])
    expected = {node["name"]: node for node in json.loads(json.dumps(trace.to_dict()))["nodes"]}
    model = embedded_model(trace.page().html())
    assert {node["name"] for node in model["nodes"]} == set(expected)
    for node in model["nodes"]:
        want = expected[node["name"]]
        assert strict(node["value"]["exact"]) == want["value"], node["name"]  # == on floats
        if want["grad"] is None and node["grad"] is None:
            continue  # data: no gradient
        assert strict(node["grad"]["exact"]) == want["grad"], node["name"]
        assert node["agrees"] == want["agree"]


def test_the_update_and_the_loss_are_the_traces():
    trace = explain(**CASES["m examples"])
    data = trace.to_dict()
    model = embedded_model(trace.page().html())
    after = {u["name"]: strict(u["after"]["exact"]) for u in model["updates"]}
    assert after == {"w1": data["w_new"][0], "w2": data["w_new"][1], "b": data["b_new"]}
    assert strict(model["loss_before"]["exact"]) == data["cost"]
    assert strict(model["loss_after"]["exact"]) == data["cost_new"]
    assert model["loss_name"] == "J"


@pytest.mark.parametrize("case", ["one example", "m examples"])
def test_steps_go_forward_in_graph_order_then_backward_in_the_engines_order(case):
    page = explain(**CASES[case]).page()
    steps = page.steps()
    assert steps[0]["kind"] == "start" and steps[-1]["kind"] == "update"
    seen = set()
    for step in steps:
        if step["kind"] == "forward":
            for name in step["nodes"]:  # every input is computed before its user
                assert set(page.node(name).inputs) <= seen, name
            seen |= set(step["nodes"])
    assert seen == {node.name for node in page.nodes}
    backward = [step["nodes"][0] for step in steps if step["kind"] == "backward"]
    assert backward == list(page.backward_order)
    kinds = [step["kind"] for step in steps]
    assert kinds == sorted(kinds, key=["start", "forward", "backward", "update"].index)


def test_page_is_self_contained():
    page = explain(**CASES["m examples"]).page(steps=5).html()
    assert not re.search(r"<link\b|\bsrc\s*=|@import|url\((?!#)", page, re.I)
    # the only URL is the SVG namespace, an identifier that is never fetched
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count("<script") == 2 and page.count("</script>") == 2


def small_model(**changes):
    """A two-node graph that is not the lecture: a matrix parameter and its sum."""
    weight = np.array([[1.0, -2.0], [0.5, 3.0]])
    nodes = [
        PageNode("W", "parameter", "W: weights", weight, grad=np.ones((2, 2)),
                 grad_label="dS/dW", terms=(Term("S", np.array(1.0), "\u2202S/\u2202W", "1",
                                                 np.ones((2, 2)), "", np.ones((2, 2))),)),
        PageNode("S", "result", "S = sum(W) </script><b>", np.array(weight.sum()), ("W",),
                 np.array(1.0), "dS/dS", seed="dS/dS = 1"),
    ]
    fields = dict(title="a <small> graph", summary=("S = sum(W)",), nodes=tuple(nodes),
                  backward_order=("S", "W"), alpha=0.5,
                  updates=(Update("W", weight, np.ones((2, 2)), weight - 0.5),), loss_name="S",
                  loss_before=2.5, loss_after=0.5)
    fields.update(changes)
    return StepThrough(**fields)


def test_any_graph_can_feed_the_page_and_text_cannot_break_out_of_it():
    model = small_model()
    page = model.html()
    data = embedded_model(page)
    weight = data["nodes"][0]
    assert strict(weight["value"]["exact"]) == [[1.0, -2.0], [0.5, 3.0]]
    assert weight["value"]["index"] == ["(1, 1)", "(1, 2)", "(2, 1)", "(2, 2)"]
    assert data["nodes"][1]["formula"] == "S = sum(W) </script><b>"
    assert page.count("</script>") == 2  # the formula's "</script>" is escaped in the JSON
    assert "<title>a &lt;small&gt; graph</title>" in page
    assert [e["from"] + ">" + e["to"] for e in data["edges"]] == ["W>S"]


def test_model_checks_its_backward_order():
    with pytest.raises(ValueError, match="'nope' is not a node with a gradient"):
        small_model(backward_order=("S", "nope"))


def test_model_refuses_inputs_that_come_later_and_twice_used_names():
    node = PageNode("a", "op", "a = b", np.array(1.0), ("b",))
    with pytest.raises(ValueError, match=r"inputs \['b'\] are not earlier nodes"):
        small_model(nodes=(node, PageNode("b", "data", "b", np.array(1.0))), backward_order=())
    twice = PageNode("b", "data", "b", np.array(1.0))
    with pytest.raises(ValueError, match="two nodes are named 'b'"):
        small_model(nodes=(twice, twice), backward_order=())
    with pytest.raises(ValueError, match="kind must be one of"):
        small_model(nodes=(PageNode("b", "leaf", "b", np.array(1.0)),), backward_order=())


def test_write_replaces_whole_and_fails_without_leaving_anything(tmp_path, monkeypatch):
    target = tmp_path / "page.html"
    target.write_text("old page")
    model = small_model()
    model.write(target)
    assert target.read_text(encoding="utf-8") == model.html()
    assert os.listdir(tmp_path) == ["page.html"]

    def fail(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)  # the last moment of the write
    with pytest.raises(UserError, match="No space left"):
        small_model(title="a new title").write(target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == model.html()  # the old file, whole
    assert os.listdir(tmp_path) == ["page.html"]


def test_write_to_a_missing_directory_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="--html .*does not exist"):
        small_model().write(tmp_path / "nowhere" / "page.html", what="--html")


def test_iframe_holds_the_page_and_table_lists_every_node():
    trace = explain(**CASES["one example"])
    page = trace.page()
    frame = page.iframe()
    srcdoc = re.fullmatch(r'<div [^>]*><iframe srcdoc="([^"]*)" .*</iframe></div>', frame,
                          re.S).group(1)
    assert html.unescape(srcdoc) == page.html()
    table = trace._repr_html_()
    for row in trace.rows:
        assert f"<td>{row.name}</td>" in table
    assert f"{trace.dz[0]:.6g}" in table and "agrees" in table
    assert html.escape("a <small> graph") in small_model().table_html()
