"""The lecture's trace: the engine's derivatives against closed forms, the step, JSON and table."""

import doctest
import importlib
import json
import math
import re
import warnings

import numpy as np
import pytest

import lograd
from lograd.errors import UserError
from lograd.lectures.logistic import (
    backward_order,
    closed_forms,
    descend,
    explain,
    lecture_graph,
    local_derivatives,
)

# the module of the lecture trace (lograd.explain is its function)
explain_module = importlib.import_module("lograd.lectures.logistic")
TIGHT = dict(rtol=1e-12, atol=1e-15)


def reference(x, w, b, y):
    """The lecture's formulas once more, written with the math module, example by example."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    out = {key: [] for key in ("z", "a", "loss", "da", "dz")}
    for row, label in zip(x, y):
        z = math.fsum(wi * xi for wi, xi in zip(w, row)) + b
        a = 1 / (1 + math.exp(-z))
        out["z"].append(z)
        out["a"].append(a)
        out["loss"].append(-(label * math.log(a) + (1 - label) * math.log(1 - a)))
        out["da"].append(-label / a + (1 - label) / (1 - a))
        out["dz"].append(a - label)
    out = {key: np.array(values) for key, values in out.items()}
    out["dw"] = (x * out["dz"][:, None]).mean(axis=0)
    out["db"] = out["dz"].mean()
    return out


def random_case(seed, m, n):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2, size=(m, n))
    w = rng.normal(0, 1, size=n)
    b = float(rng.normal())
    y = rng.integers(0, 2, size=m).astype(float)
    alpha = float(rng.uniform(0.01, 1.0))
    return (x[0] if m == 1 else x), w, b, (y[0] if m == 1 else y), alpha


# -- the derivatives ------------------------------------------------------------------------------
def test_default_example_by_hand():
    trace = explain()
    # x = (1, 2), w = (0.5, -1), b = 0.25, y = 1:  z = 0.5 - 2 + 0.25 = -1.25
    a = 1 / (1 + math.exp(1.25))
    assert trace.z[0] == -1.25
    assert trace.a[0] == pytest.approx(a, rel=1e-15)
    assert trace.loss[0] == pytest.approx(-math.log(a), rel=1e-14)
    assert trace.da[0] == pytest.approx(-1 / a, rel=1e-14)
    assert trace.dz[0] == pytest.approx(a - 1, rel=1e-14)
    np.testing.assert_allclose(trace.dw, [a - 1, 2 * (a - 1)], rtol=1e-14)
    assert trace.db == pytest.approx(a - 1, rel=1e-14)
    assert trace.agrees and trace.notes() == []


@pytest.mark.parametrize("m, n", [(1, 1), (1, 2), (1, 5), (4, 2), (7, 3)])
@pytest.mark.parametrize("seed", range(6))
def test_engine_equals_closed_forms_on_random_inputs(seed, m, n):
    x, w, b, y, alpha = random_case(seed, m, n)
    trace = explain(x, w, b, y, alpha)
    expected = reference(x, w, b, y)
    for key in ("z", "a", "loss", "da", "dz"):
        np.testing.assert_allclose(getattr(trace, key), expected[key], **TIGHT, err_msg=key)
    np.testing.assert_allclose(trace.dw, expected["dw"], **TIGHT)
    np.testing.assert_allclose(trace.db, expected["db"], **TIGHT)
    # the chain rule through the separate sigmoid node gives the lecture's shortcut
    np.testing.assert_allclose(trace.closed["dz_chain"], expected["dz"], **TIGHT)
    assert trace.agrees
    for row in trace.rows:
        if row.grad is not None:
            np.testing.assert_allclose(row.grad, row.closed, **TIGHT, err_msg=row.name)


@pytest.mark.parametrize("seed", range(4))
def test_gradients_match_finite_differences_of_the_cost(seed):
    x, w, b, y, _ = random_case(seed, 5, 3)

    def cost(w_, b_):
        return float(np.mean(reference(x, w_, b_, y)["loss"]))

    trace = explain(x, w, b, y, 0.1)
    eps = 1e-6
    for i in range(3):
        step = eps * np.eye(3)[i]
        numeric = (cost(w + step, b) - cost(w - step, b)) / (2 * eps)
        assert trace.dw[i] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    numeric_b = (cost(w, b + eps) - cost(w, b - eps)) / (2 * eps)
    assert trace.db == pytest.approx(numeric_b, rel=1e-6, abs=1e-9)


def test_lecture_graph_is_the_lecture_and_passes_gradcheck():
    x, w, b, y, _ = random_case(3, 1, 2)
    nodes = lecture_graph(np.atleast_2d(x), w, b, np.atleast_1d(y))
    assert nodes["a"].op.name == "sigmoid" and nodes["a"].parents == (nodes["z"],)
    assert nodes["z"].op.name == "add" and nodes["b"] in nodes["z"].parents
    assert {n.name for n in nodes.values()} >= {"x1", "x2", "w1", "w2", "b", "z", "a", "L"}
    assert nodes["L"].shape == ()  # one example: every node a scalar

    def loss(w1, w2, b_):
        xt = [lograd.Tensor(v) for v in x]
        a = (w1 * xt[0] + w2 * xt[1] + b_).sigmoid()
        return -(y * a.log() + (1 - y) * (1.0 - a).log())

    assert lograd.gradcheck(loss, w[0], w[1], b)


def test_several_examples_average_the_gradients_and_keep_per_example_values():
    x = [[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]
    y = [1.0, 0.0, 1.0]
    trace = explain(x, [0.5, -1.0], 0.25, y, 0.1)
    singles = [explain(row, [0.5, -1.0], 0.25, label, 0.1) for row, label in zip(x, y)]
    np.testing.assert_allclose(trace.dz, [s.dz[0] for s in singles], **TIGHT)
    np.testing.assert_allclose(trace.da, [s.da[0] for s in singles], **TIGHT)
    np.testing.assert_allclose(trace.dw, np.mean([s.dw for s in singles], axis=0), **TIGHT)
    assert trace.cost == pytest.approx(np.mean([s.loss[0] for s in singles]), rel=1e-14)
    assert trace.graph.name == "J"
    assert trace.graph.grad == 1.0


# -- the step -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_gradient_descent_step(seed):
    x, w, b, y, _ = random_case(seed, 6, 2)
    alpha = 1e-3
    trace = explain(x, w, b, y, alpha)
    np.testing.assert_array_equal(trace.w_new, w - alpha * trace.dw)
    assert trace.b_new == b - alpha * trace.db
    after = reference(x, trace.w_new, trace.b_new, y)
    np.testing.assert_allclose(trace.loss_new, after["loss"], **TIGHT)
    # a small step along -gradient lowers the cost by about alpha*|grad|^2
    decrease = alpha * (np.sum(trace.dw ** 2) + trace.db ** 2)
    assert trace.cost - trace.cost_new == pytest.approx(decrease, rel=0.05)


def test_fused_op_gives_the_same_step_when_nothing_saturates():
    x, w, b, y, alpha = random_case(7, 5, 3)
    trace = explain(x, w, b, y, alpha)
    np.testing.assert_allclose(trace.fused["dz"], trace.dz, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(trace.fused["loss"], trace.loss, rtol=1e-10)
    np.testing.assert_allclose(trace.fused["w_new"], trace.w_new, rtol=1e-10)
    np.testing.assert_allclose(trace.fused["loss_new"], trace.loss_new, rtol=1e-10)


# -- a = 0 or 1 in float64 ------------------------------------------------------------------------
@pytest.mark.parametrize("z, y, expected_dz", [(40.0, 1.0, 0.0), (40.0, 0.0, 1.0),
                                                (-800.0, 1.0, -1.0), (-800.0, 0.0, 0.0)])
def test_saturated_sigmoid_is_reported_and_fused_op_stays_exact(z, y, expected_dz):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may reach the user
        trace = explain([z], [1.0], 0.0, y, 0.1)
        text = " ".join(trace.table().split())  # prose is wrapped: compare words
        data = json.loads(json.dumps(trace.to_dict(), allow_nan=False))
    assert trace.a[0] in (0.0, 1.0) and trace.saturated.all()
    assert not np.isfinite(trace.closed["da"][0]) or not np.isfinite(trace.loss[0])
    assert not np.isfinite(trace.dz[0])  # the plain graph cannot give dz any more
    assert trace.closed["dz"][0] == expected_dz  # a - y stays exact
    assert trace.fused["dz"][0] == expected_dz
    assert np.isfinite(trace.fused["loss"][0])
    assert not trace.agrees
    assert "divides by zero" in text and "fused op" in text and "dz = a - y" in text
    assert data["saturated"] is True
    assert data["dz"] == {"__float__": repr(float(trace.dz[0]))}  # what the engine computed
    assert data["fused"]["dz"] == expected_dz
    assert "divides by zero" in data["notes"][0]


def test_saturation_of_one_example_among_several_is_named():
    trace = explain([[1.0], [40.0]], [1.0], 0.0, [1.0, 0.0], 0.1)
    notes = trace.notes()
    assert len(notes) == 1 and notes[0].startswith("example 2:")


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(w=[1.0, 2.0, 3.0]), r"w has 3 weights but the examples have 2 features"),
    (dict(y=2.0), r"y must be a label 0 or 1"),
    (dict(y=-0.5), r"y must be a label 0 or 1"),
    (dict(y=float("nan")), r"y must be a label 0 or 1"),
    (dict(alpha=0.0), r"alpha must be a positive"),
    (dict(alpha=-0.1), r"alpha must be a positive"),
    (dict(alpha=float("inf")), r"alpha must be a finite"),
    (dict(b=[1.0, 2.0]), r"b must be one number"),
    (dict(x=[1.0, float("inf")]), r"x must be finite numbers; example 1, feature x2"),
    (dict(x=["a", "b"]), r"x must be numbers"),
    (dict(x=[[1.0, 2.0], [3.0, 4.0]], y=[1.0]), r"y has 1 label but x has 2 examples"),
    (dict(x=[]), r"x must hold n features"),
])
def test_bad_input_names_the_parameter(kwargs, message):
    with pytest.raises(UserError, match=message) as info:
        explain(**kwargs)
    assert "\n" not in str(info.value)


# -- JSON and table -------------------------------------------------------------------------------
KEYS = {"z", "a", "loss", "da", "dz", "dw", "db", "w_new", "b_new", "loss_new"}


def test_json_keys_and_types_for_one_and_several_examples():
    one = json.loads(json.dumps(explain().to_dict(), allow_nan=False))
    assert KEYS <= one.keys()
    assert all(isinstance(one[k], float) for k in ("z", "a", "loss", "da", "dz", "db"))
    assert len(one["dw"]) == 2 and len(one["w_new"]) == 2
    several = explain([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], y=[1, 0, 1]).to_dict()
    assert all(len(several[k]) == 3 for k in ("z", "a", "loss", "da", "dz", "loss_new"))
    assert len(several["dw"]) == 2 and isinstance(several["db"], float)
    assert several["cost"] == pytest.approx(np.mean(several["loss"]), rel=1e-15)


def _close(cell, value):
    return math.isclose(float(cell), value, rel_tol=6e-6, abs_tol=1e-300)


def _table_rows(text, header_start):
    """Cells of the rows under the table whose header's first cells are ``header_start``."""
    lines = text.splitlines()
    wanted = re.split(r"\s{2,}", header_start)
    start = next(i for i, line in enumerate(lines)
                 if re.split(r"\s{2,}", line.strip())[:len(wanted)] == wanted)
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def _check_step_lines(text, data):
    steps = re.findall(r"^\s+(w\d+|b)\s+:= (\S+) - (\S+)\*\((\S+)\) = (\S+)$", text, re.M)
    assert len(steps) == data["n"] + 1
    for name, before, alpha, grad, after in steps:
        if name == "b":
            expected = (data["b"], data["db"], data["b_new"])
        else:
            i = int(name[1:]) - 1
            expected = (data["w"][i], data["dw"][i], data["w_new"][i])
        assert all(_close(c, v) for c, v in zip((before, grad, after), expected)), name
        assert _close(alpha, data["alpha"])


@pytest.mark.parametrize("seed", range(3))
def test_json_matches_the_table_for_one_example(seed):
    trace = explain(*random_case(seed, 1, 3))
    text, data = trace.table(), trace.to_dict()
    forward = {cells[0]: cells for cells in _table_rows(text, "node  computed as")}
    backward = {cells[0]: cells for cells in _table_rows(text, "node  engine")}
    assert list(forward) == [node["name"] for node in data["nodes"]]
    assert list(backward) == backward_order(trace)  # the order backward() runs
    for node in data["nodes"]:
        assert _close(forward[node["name"]][2], node["value"])
        if node["grad"] is not None:
            name, engine, formula, closed, _, agrees = backward[node["name"]]
            assert _close(engine, node["grad"]) and _close(closed, node["closed"])
            assert formula == node["closed_formula"] and agrees == "yes"
    assert _close(backward["z"][1], data["dz"]) and _close(backward["a"][1], data["da"])
    assert _close(forward["L"][2], data["loss"])
    _check_step_lines(text, data)
    before, after = re.search(r"Loss L before the step: (\S+)\s+after: (\S+)", text).groups()
    assert _close(before, data["loss"]) and _close(after, data["loss_new"])


def test_json_matches_the_table_for_several_examples():
    trace = explain(*random_case(11, 4, 2))
    text, data = trace.table(), trace.to_dict()
    forward = _table_rows(text, "i  x1")
    backward = _table_rows(text, "i  da engine")
    assert len(forward) == len(backward) == 4
    for i, (fwd, bwd) in enumerate(zip(forward, backward)):
        z, a, loss = fwd[4:7]
        assert _close(z, data["z"][i]) and _close(a, data["a"][i])
        assert _close(loss, data["loss"][i])
        assert _close(bwd[1], data["da"][i]) and _close(bwd[3], data["dz"][i])
        assert _close(bwd[2], data["closed_form"]["da"][i]) and bwd[6] == "yes"
    params = {cells[0]: cells for cells in _table_rows(text, "node  value")}
    assert _close(params["w1"][2], data["dw"][0]) and _close(params["b"][2], data["db"])
    assert _close(params["J"][1], data["cost"])
    _check_step_lines(text, data)
    before, after = re.search(r"Cost J .* before the step: (\S+)\s+after: (\S+)", text).groups()
    assert _close(before, data["cost"]) and _close(after, data["cost_new"])


def test_long_example_lists_are_cut_in_the_table_but_not_in_json():
    x, w, b, y, alpha = random_case(1, 30, 2)
    trace = explain(x, w, b, y, alpha)
    rows = _table_rows(trace.table(), "i  x1")
    assert [cells[0] for cells in rows[:-1]] == [str(i + 1) for i in range(20)]
    assert rows[-1][0].startswith("... 10 more examples")
    assert len(trace.to_dict()["dz"]) == 30


def test_closed_forms_are_independent_of_the_engine(monkeypatch):
    # If the engine's sigmoid rule were wrong, the closed forms must not follow it.
    x, w, b, y, alpha = random_case(2, 1, 2)
    good = closed_forms(np.atleast_2d(x), w, b, np.atleast_1d(y))
    op = lograd.OPS["sigmoid"]
    broken = op._replace(vjps=(lambda g, ans, z: 2 * g * ans * (1 - ans),))
    monkeypatch.setitem(lograd.OPS, "sigmoid", broken)
    trace = explain(x, w, b, y, alpha)
    assert not trace.agrees
    assert trace.closed["dz"] == pytest.approx(good["dz"], rel=1e-15)
    assert "NO" in trace.table()


def test_docstring_example():
    assert doctest.testmod(explain_module).failed == 0


def test_cli_still_works_once_the_package_exports_the_function(monkeypatch, capsys):
    from lograd.cli import main

    monkeypatch.setattr(lograd, "explain", explain, raising=False)  # what __init__ will do
    assert main(["explain", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(explain().to_dict()))


# -- the step-through page's numbers --------------------------------------------------------------
@pytest.mark.parametrize("m, n", [(1, 2), (5, 3)])
def test_local_derivatives_are_the_lectures_and_finite_differences(m, n):
    x, w, b, y, alpha = random_case(4, m, n)
    trace = explain(x, w, b, y, alpha)
    local = local_derivatives(trace)
    z, a = trace.z, trace.a
    for i in range(n):  # dz/dw_i = x_i, example by example
        np.testing.assert_array_equal(np.reshape(local[(f"w{i + 1}", "z")], -1), trace.x[:, i])
    np.testing.assert_array_equal(np.reshape(local[("b", "z")], -1), np.ones(m))
    np.testing.assert_allclose(np.reshape(local[("z", "a")], -1), a * (1 - a), **TIGHT)
    eps = 1e-6
    sig = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    np.testing.assert_allclose(np.reshape(local[("z", "a")], -1),
                               (sig(z + eps) - sig(z - eps)) / (2 * eps), rtol=1e-6)
    loss = lambda p: -(trace.y * np.log(p) + (1 - trace.y) * np.log(1 - p))  # noqa: E731
    np.testing.assert_allclose(np.reshape(local[("a", "L")], -1),
                               (loss(a + eps * a) - loss(a - eps * a)) / (2 * eps * a), rtol=1e-5)
    if m > 1:
        np.testing.assert_allclose(local[("L", "J")], np.full(m, 1 / m), **TIGHT)
    else:
        assert ("L", "J") not in local


@pytest.mark.parametrize("m, n", [(1, 2), (1, 4), (6, 3)])
@pytest.mark.parametrize("seed", range(3))
def test_upstream_times_local_is_the_engines_gradient(seed, m, n):
    trace = explain(*random_case(seed, m, n))
    page = trace.page()
    for node in page.nodes:
        if node.terms:
            total = sum(term.value for term in node.terms)
            np.testing.assert_allclose(total, node.grad, rtol=1e-13, atol=1e-16, err_msg=node.name)
            for term in node.terms:  # the upstream is the user's gradient from the same pass
                np.testing.assert_array_equal(term.upstream, page.node(term.user).grad)
        else:
            assert node.grad is None or node.seed  # only the roots start without a term


def test_backward_order_is_the_order_the_engine_visits(monkeypatch):
    trace = explain(*random_case(5, 3, 3))
    named, leaves, visited = {}, {}, []
    for name, op in list(lograd.OPS.items()):  # record each op node as its VJPs run
        if not isinstance(op.vjps, tuple):
            continue  # (ops of any number of arrays, such as concatenate: not in this graph)

        def recording(vjp):
            def run(g, ans, *args, **kwargs):
                # a leaf is visited when its gradient is stored: seen at the next VJP call
                for leaf_name, leaf in leaves.items():
                    if leaf.grad is not None and leaf_name not in visited:
                        visited.append(leaf_name)
                if id(ans) in named and named[id(ans)] not in visited:
                    visited.append(named[id(ans)])
                return vjp(g, ans, *args, **kwargs)
            return run

        vjps = tuple(None if v is None else recording(v) for v in op.vjps)
        monkeypatch.setitem(lograd.OPS, name, op._replace(vjps=vjps))
    nodes = lecture_graph(trace.x, trace.w, trace.b, trace.y)  # built with the recording ops
    named.update({id(t.data): name for name, t in nodes.items() if t.op is not None})
    leaves.update({name: t for name, t in nodes.items() if t.op is None and t.requires_grad})
    nodes["J"].backward()
    order = backward_order(trace)
    # the leaves visited after the last VJP call cannot be told apart: they come last
    last = set(leaves) - set(visited)
    assert visited == ["J", "L", "a", "z", "w1", "w2"] and last == {"w3", "b"}
    assert order[:len(visited)] == visited and set(order[len(visited):]) == last


def plain_gradient_descent(x, w, b, y, alpha, steps):
    """The lecture's update with its closed-form gradients, in plain NumPy."""
    costs, path = [], [(w, b)]
    for _ in range(steps):
        closed = closed_forms(x, w, b, y)
        costs.append(np.mean(closed["loss"]))
        w, b = w - alpha * closed["dw"], b - alpha * closed["db"]
        path.append((w, b))
    costs.append(np.mean(closed_forms(x, w, b, y)["loss"]))
    return np.array(costs), np.array([p[0] for p in path]), np.array([p[1] for p in path])


@pytest.mark.parametrize("m", [1, 5])
def test_descend_is_gradient_descent_and_its_first_step_is_the_traces(m):
    x, w, b, y, alpha = random_case(6, m, 2)
    path = descend(x, w, b, y, alpha, 60)
    costs, ws, bs = plain_gradient_descent(np.atleast_2d(x), w, b, np.atleast_1d(y), alpha, 60)
    np.testing.assert_allclose(path["cost"], costs, rtol=1e-12)
    np.testing.assert_allclose(path["w"], ws, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(path["b"], bs, rtol=1e-12, atol=1e-15)
    assert path["cost"][-1] < path["cost"][0]
    trace = explain(x, w, b, y, alpha)
    np.testing.assert_array_equal(path["w"][1], trace.w_new)  # the same engine, bit for bit
    assert path["b"][1] == trace.b_new and path["cost"][1] == trace.cost_new
    timeline = trace.page(steps=60).timeline
    np.testing.assert_array_equal(timeline.loss, path["cost"])
    np.testing.assert_array_equal(timeline.parameters["w2"], path["w"][:, 1])


@pytest.mark.parametrize("steps", [0, -1, 10_001, 2.5, True])
def test_descend_refuses_a_bad_number_of_steps(steps):
    with pytest.raises(UserError, match="steps must be a whole number from 1 to 10000"):
        descend([1.0], [1.0], 0.0, 1.0, 0.1, steps)


def test_show_displays_the_page_in_an_iframe(monkeypatch):
    display = pytest.importorskip("IPython.display")
    shown = []
    monkeypatch.setattr(display, "display", shown.append)
    trace = explain()
    assert trace.show(steps=3) is None
    (obj,) = shown
    assert isinstance(obj, display.HTML)
    assert obj.data == trace.page(steps=3).iframe()


def test_the_table_names_the_fused_op_that_training_runs():
    from sklearn.datasets import load_breast_cancer

    from lograd.autodiff.pictures import graph_nodes
    from lograd.estimators.logistic import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    fitted = LogisticRegression(max_iter=5, tol=0).fit(X, y)
    objective, theta = fitted.training_objective(X, y)
    loss_ops = {node.op.name for node in graph_nodes(objective.graph(theta))
                if node.op is not None and "loss" in node.op.name}
    assert loss_ops == {"linear_logistic_loss"}  # what training runs
    assert "linear_logistic_loss" in " ".join(explain().table().split())
