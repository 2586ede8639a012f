"""The course's two-layer network traced through the engine: its values and gradients against the
course's formulas (written here once more, example by example), finite differences, the step,
the JSON, the table and the page's model."""

import doctest
import importlib
import json
import math
import re
import warnings

import numpy as np
import pytest

import lograd
from lograd import gradcheck
from lograd.errors import UserError
from lograd.lectures.network import (
    CONVENTION,
    FORWARD,
    GRADIENTS,
    PARAMETERS,
    backward_order,
    closed_forms,
    default_examples,
    descend_network,
    explain_network,
    local_derivatives,
    network_graph,
    read_parameters,
)

network_module = importlib.import_module("lograd.lectures.network")
ACTIVATIONS = ("tanh", "relu", "sigmoid")
SHAPES = [(1, 1, 1), (2, 4, 5), (3, 2, 7), (5, 6, 3)]  # (n_x, n_h, m)
TOLERANCE = 1e-12


def random_case(seed, n_x, n_h, m):
    """Inputs in the course's layout, weights large enough that every unit does something."""
    rng = np.random.default_rng(seed)
    return dict(X=rng.normal(0, 1.5, size=(n_x, m)), Y=rng.integers(0, 2, size=(1, m)) * 1.0,
                W1=rng.normal(size=(n_h, n_x)), b1=rng.normal(size=(n_h, 1)),
                W2=rng.normal(size=(1, n_h)), b2=rng.normal(size=(1, 1)))


def course_reference(X, Y, W1, b1, W2, b2, activation):
    """The course's forward and backward propagation, one example and one unit at a time with
    the math module: no NumPy arithmetic, no engine."""
    g = {"tanh": math.tanh, "relu": lambda z: max(z, 0.0),
         "sigmoid": lambda z: 1 / (1 + math.exp(-z))}[activation]
    g_prime = {"tanh": lambda z, a: 1 - a * a, "relu": lambda z, a: 1.0 if z > 0 else 0.0,
               "sigmoid": lambda z, a: a * (1 - a)}[activation]
    n_x, m = X.shape
    n_h = W1.shape[0]
    out = {key: np.zeros(shape) for key, shape in [
        ("Z1", (n_h, m)), ("A1", (n_h, m)), ("Z2", (1, m)), ("A2", (1, m)), ("dZ2", (1, m)),
        ("dZ1", (n_h, m)), ("dW1", (n_h, n_x)), ("db1", (n_h, 1)), ("dW2", (1, n_h)),
        ("db2", (1, 1))]}
    losses = []
    for i in range(m):
        for j in range(n_h):
            out["Z1"][j, i] = math.fsum(W1[j, k] * X[k, i] for k in range(n_x)) + b1[j, 0]
            out["A1"][j, i] = g(out["Z1"][j, i])
        z2 = math.fsum(W2[0, j] * out["A1"][j, i] for j in range(n_h)) + b2[0, 0]
        a2 = 1 / (1 + math.exp(-z2))
        y = Y[0, i]
        out["Z2"][0, i], out["A2"][0, i] = z2, a2
        losses.append(-(y * math.log(a2) + (1 - y) * math.log(1 - a2)))
        out["dZ2"][0, i] = a2 - y  # per example, as the course writes it
        for j in range(n_h):
            out["dZ1"][j, i] = W2[0, j] * out["dZ2"][0, i] * g_prime(out["Z1"][j, i],
                                                                     out["A1"][j, i])
    out["cost"] = math.fsum(losses) / m
    for j in range(n_h):
        out["dW2"][0, j] = math.fsum(out["dZ2"][0, i] * out["A1"][j, i] for i in range(m)) / m
        out["db1"][j, 0] = math.fsum(out["dZ1"][j, :]) / m
        for k in range(n_x):
            out["dW1"][j, k] = math.fsum(out["dZ1"][j, i] * X[k, i] for i in range(m)) / m
    out["db2"][0, 0] = math.fsum(out["dZ2"][0, :]) / m
    return out


# -- the values and derivatives -------------------------------------------------------------------
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "n_x={},n_h={},m={}".format(*s))
def test_engine_equals_the_courses_closed_forms_on_random_inputs(shape, activation):
    case = random_case(sum(shape) + len(activation), *shape)
    trace = explain_network(**case, activation=activation)
    expected = course_reference(**case, activation=activation)
    for name in FORWARD + GRADIENTS:
        engine = np.asarray(getattr(trace, name))
        assert engine.shape == np.shape(expected[name]), name
        np.testing.assert_allclose(engine, expected[name], rtol=0, atol=TOLERANCE, err_msg=name)
        np.testing.assert_allclose(trace.closed[name], expected[name], rtol=0, atol=TOLERANCE,
                                   err_msg=name)
    assert trace.agrees and trace.max_abs_diff < TOLERANCE
    assert all(agrees for _, agrees in trace.checks.values())


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradcheck_of_the_network_cost(activation):
    case = random_case(7, 3, 4, 6)
    X, Y = case["X"], case["Y"]

    def cost(W1, b1, W2, b2):
        return network_graph(X, Y, W1, b1, W2, b2, activation)["J"]

    assert gradcheck(cost, *(case[name] for name in PARAMETERS), atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_traces_gradients_are_finite_differences_of_the_cost(activation):
    """dW, db are dJ/dW, dJ/db; dZ are m x dJ/dZ (the convention), all by central differences of
    the cost in plain NumPy."""
    case = random_case(3, 2, 3, 4)
    trace = explain_network(**case, activation=activation)
    m, eps = trace.m, 1e-6
    g = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
         "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[activation]

    def cost_of_z2(Z2):
        A2 = 1 / (1 + np.exp(-Z2))
        return -np.mean(case["Y"] * np.log(A2) + (1 - case["Y"]) * np.log(1 - A2))

    def cost_of_z1(Z1, W2=case["W2"], b2=case["b2"]):
        return cost_of_z2(W2 @ g(Z1) + b2)

    def cost_of(name):
        def cost(value):
            p = {**{p: case[p] for p in PARAMETERS}, name: value}
            return cost_of_z1(p["W1"] @ case["X"] + p["b1"], p["W2"], p["b2"])
        return cost

    def central(f, point):
        out = np.zeros_like(point)
        for index in np.ndindex(point.shape):
            step = np.zeros_like(point)
            step[index] = eps
            out[index] = (f(point + step) - f(point - step)) / (2 * eps)
        return out

    for name in PARAMETERS:
        np.testing.assert_allclose(getattr(trace, f"d{name}"), central(cost_of(name), case[name]),
                                   rtol=1e-6, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(trace.dZ2, m * central(cost_of_z2, trace.Z2), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(trace.dZ1, m * central(cost_of_z1, trace.Z1), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(trace.dZ2, trace.A2 - trace.Y, rtol=0, atol=TOLERANCE)


def test_nodes_hold_the_engines_dJ_and_their_closed_forms_in_the_same_convention():
    case = random_case(5, 2, 3, 4)
    trace = explain_network(**case)
    rows = {row.name: row for row in trace.rows}
    assert [row.name for row in trace.rows] == ["X", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2",
                                                "A2", "Y", "L", "J"]
    m = trace.m
    np.testing.assert_allclose(rows["Z2"].grad, trace.dZ2 / m, rtol=1e-15)  # dJ/dZ2 itself
    np.testing.assert_allclose(rows["Z1"].grad, trace.dZ1 / m, rtol=1e-15)
    np.testing.assert_array_equal(rows["W1"].grad, trace.dW1)
    np.testing.assert_allclose(rows["L"].grad, np.full((1, m), 1 / m), rtol=1e-15)
    a2, y = trace.A2, trace.Y
    np.testing.assert_allclose(rows["A2"].grad, (-y / a2 + (1 - y) / (1 - a2)) / m, rtol=1e-12)
    np.testing.assert_allclose(rows["A1"].grad, trace.W2.T @ (a2 - y) / m, atol=TOLERANCE)
    assert all(row.agrees for row in trace.rows if row.grad is not None)
    assert rows["X"].grad is None and rows["Y"].grad is None


def test_one_step_of_gradient_descent_is_plain_numpy():
    case = random_case(11, 3, 5, 6)
    trace = explain_network(**case, activation="relu", alpha=0.7)
    expected = course_reference(**case, activation="relu")
    new = {name: case[name] - 0.7 * expected[f"d{name}"] for name in PARAMETERS}
    for name in PARAMETERS:
        np.testing.assert_allclose(getattr(trace, f"{name}_new"), new[name], rtol=0,
                                   atol=TOLERANCE)
    after = course_reference(case["X"], case["Y"], **new, activation="relu")
    assert trace.cost_new == pytest.approx(after["cost"], abs=TOLERANCE)
    assert trace.cost_new < trace.cost


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_descend_is_the_courses_loop_in_numpy(activation):
    case = random_case(2, 2, 4, 8)
    path = descend_network(**case, activation=activation, alpha=1.2, steps=25)
    params = {name: case[name] for name in PARAMETERS}
    for k in range(26):
        reference = course_reference(case["X"], case["Y"], **params, activation=activation)
        assert path["cost"][k] == pytest.approx(reference["cost"], abs=1e-11), k
        for name in PARAMETERS:
            np.testing.assert_allclose(path[name][k], params[name], rtol=0, atol=1e-11)
        params = {name: params[name] - 1.2 * reference[f"d{name}"] for name in PARAMETERS}
    trace = explain_network(**case, activation=activation, alpha=1.2)
    assert path["cost"][0] == trace.cost and path["cost"][1] == trace.cost_new
    np.testing.assert_array_equal(path["W1"][1], trace.W1_new)


@pytest.mark.parametrize("steps", [0, 10_001, 2.5, True])
def test_descend_refuses_a_bad_number_of_steps(steps):
    with pytest.raises(UserError, match="steps must be a whole number from 1 to 10000"):
        descend_network(**random_case(0, 2, 2, 2), steps=steps)


def test_the_fused_op_takes_the_same_step_when_nothing_saturates():
    trace = explain_network(**random_case(4, 2, 3, 5))
    for name in GRADIENTS:
        np.testing.assert_allclose(trace.fused[name], getattr(trace, name), rtol=1e-9,
                                   atol=TOLERANCE, err_msg=name)
    assert trace.fused["cost"] == pytest.approx(trace.cost, rel=1e-12)
    assert trace.fused["cost_new"] == pytest.approx(trace.cost_new, rel=1e-12)
    assert trace.notes() == []


def test_a_saturated_output_is_explained_and_the_fused_op_stays_exact():
    X = np.array([[1.0, -1.0]])
    params = dict(W1=np.array([[1.0]]), b1=np.zeros((1, 1)), W2=np.array([[60.0]]),
                  b2=np.array([[0.0]]))  # Z2 = 60 tanh(1) ~ 45.7: A2 == 1.0 exactly
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from log(0) or 0/0
        trace = explain_network(X, [[0.0, 1.0]], **params)
        data = json.loads(json.dumps(trace.to_dict(), allow_nan=False))
        text = trace.table()
    assert trace.A2[0, 0] == 1.0 and trace.saturated.tolist() == [[True, False]]
    assert not trace.agrees and math.isinf(trace.cost)
    assert not np.isfinite(trace.dZ2[0, 0])  # the plain graph's dA2 divided by zero
    assert trace.closed["dZ2"][0, 0] == 1.0  # the course's A2 - Y
    expected_cost = (np.logaddexp(0, trace.Z2[0, 0]) + np.logaddexp(0, -trace.Z2[0, 1])) / 2
    assert trace.fused["cost"] == pytest.approx(expected_cost, rel=1e-12)
    assert trace.fused["dZ2"][0, 0] == 1.0 and np.isfinite(trace.fused["dW1"]).all()
    assert data["saturated"] is True and data["cost"] == {"__float__": "inf"}
    assert data["dZ2"][0][0] == {"__float__": repr(float(trace.dZ2[0, 0]))}
    assert data["agreement"]["dZ2"]["agree"] is None
    words = " ".join(text.split())
    assert "example 1" in words and "divides by zero" in words and "fused op" in words
    assert "not checkable" in words


def test_closed_forms_do_not_follow_a_wrong_engine_rule(monkeypatch):
    case = random_case(6, 2, 3, 4)
    good = closed_forms(**case)
    op = lograd.OPS["tanh"]
    broken = op._replace(vjps=(lambda g, ans, z: g * (1 - ans),))  # forgot the square
    monkeypatch.setitem(lograd.OPS, "tanh", broken)
    trace = explain_network(**case)
    assert not trace.agrees
    assert trace.checks["dZ1"][1] is False and trace.checks["dZ2"][1] is True
    np.testing.assert_array_equal(trace.closed["dZ1"], good["dZ1"])
    assert re.search(r"^dZ1 .* NO$", trace.table(), re.M)


# -- the defaults ---------------------------------------------------------------------------------
def test_default_parameters_are_the_courses_initialisation():
    rng = np.random.RandomState(2)  # the course: np.random.seed(2), then randn in this order
    W1, W2 = rng.randn(4, 2) * 0.01, rng.randn(1, 4) * 0.01
    trace = explain_network()
    np.testing.assert_array_equal(trace.W1, W1)
    np.testing.assert_array_equal(trace.W2, W2)
    assert (trace.b1 == 0).all() and trace.b1.shape == (4, 1) and trace.b2.shape == (1, 1)
    other = explain_network(hidden=3, seed=5)
    assert other.W1.shape == (3, 2) and not np.allclose(other.W1[:3], trace.W1[:3])
    assert trace.alpha == 1.2 and trace.activation == "tanh"


def test_default_examples_are_points_of_the_flower_from_both_classes():
    from lograd.datasets import make_flower

    X, Y = default_examples()
    flower, labels = make_flower(random_state=1)
    assert X.shape == (2, 5) and Y.shape == (1, 5)
    for i in range(5):  # each column is one of the flower's points, with its label
        row = np.flatnonzero((flower == X[:, i]).all(axis=1))
        assert row.size == 1 and labels[row[0]] == Y[0, i]
    assert set(Y.ravel()) == {0.0, 1.0}


# -- JSON, table, page ----------------------------------------------------------------------------
def test_to_dict_is_json_in_the_courses_layout():
    trace = explain_network(**random_case(8, 3, 4, 6), activation="sigmoid")
    data = json.loads(json.dumps(trace.to_dict(), allow_nan=False))
    shapes = {"X": (3, 6), "Y": (1, 6), "W1": (4, 3), "b1": (4, 1), "W2": (1, 4), "b2": (1, 1),
              "Z1": (4, 6), "A1": (4, 6), "Z2": (1, 6), "A2": (1, 6), "dZ2": (1, 6),
              "dW2": (1, 4), "db2": (1, 1), "dZ1": (4, 6), "dW1": (4, 3), "db1": (4, 1),
              "W1_new": (4, 3), "b1_new": (4, 1), "W2_new": (1, 4), "b2_new": (1, 1)}
    for key, shape in shapes.items():
        assert np.shape(data[key]) == shape, key
        np.testing.assert_array_equal(data[key], getattr(trace, key))  # full precision
    assert isinstance(data["cost"], float) and isinstance(data["cost_new"], float)
    assert (data["m"], data["n_x"], data["n_h"], data["activation"]) == (6, 3, 4, "sigmoid")
    assert data["convention"] == CONVENTION and "m x dJ/dZ" in CONVENTION
    assert set(data["closed_form"]) >= set(FORWARD + GRADIENTS) | {"g_prime"}
    assert set(data["agreement"]) == set(FORWARD + GRADIENTS) and data["agree"] is True
    assert set(data["fused"]) == {"cost", "cost_new"} | set(GRADIENTS)
    assert [node["name"] for node in data["nodes"]] == [row.name for row in trace.rows]
    assert data["backward_order"] == backward_order(trace)


def test_backward_order_is_the_order_the_engine_visits(monkeypatch):
    trace = explain_network()
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
    nodes = network_graph(trace.X, trace.Y, **trace.parameters)  # with the recording ops
    named.update({id(t.data): name for name, t in nodes.items() if t.op is not None})
    leaves.update({name: t for name, t in nodes.items() if t.op is None and t.requires_grad})
    nodes["J"].backward()
    order = backward_order(trace)
    last = set(leaves) - set(visited)  # visited after the last VJP call: they come last
    assert visited[:4] == ["J", "L", "A2", "Z2"] and {"A1", "Z1"} <= set(visited)
    assert order[:len(visited)] == visited and set(order[len(visited):]) == last
    assert set(order) == {"J", "L", "A2", "Z2", "A1", "Z1", "W1", "b1", "W2", "b2"}


def test_table_shows_the_convention_and_the_jsons_numbers():
    trace = explain_network(**random_case(9, 2, 3, 4))
    text, data = trace.table(), trace.to_dict()
    words = " ".join(text.split())
    assert " ".join(CONVENTION.split()) in words
    for name in GRADIENTS:
        block = re.search(rf"^{name} = .*shape \((\d+), (\d+)\):\n((?:  \[.*\]\n?)+)", text, re.M)
        assert block, name
        numbers = [float(v) for v in re.findall(r"-?[\d.]+(?:e[-+]\d+)?", block.group(3))]
        np.testing.assert_allclose(numbers, np.ravel(data[name]), rtol=6e-6, err_msg=name)
    before, after = re.search(r"Cost J before the step: (\S+)\s+after: (\S+)", text).groups()
    assert float(before) == pytest.approx(data["cost"], rel=6e-6)
    assert float(after) == pytest.approx(data["cost_new"], rel=6e-6)
    for name in FORWARD + GRADIENTS:
        assert re.search(rf"^{name}\s.*\syes$", text, re.M), name
    assert "Agreement: every value and derivative" in words


def test_long_matrices_are_cut_in_the_table_but_not_in_json():
    trace = explain_network(**random_case(1, 2, 3, 30))
    text = trace.table()
    assert "(8 of 30 columns shown; --json has them all)" in text
    assert np.shape(trace.to_dict()["dZ1"]) == (3, 30)


def test_page_numbers_are_the_jsons_and_terms_add_up_to_each_gradient():
    trace = explain_network(**random_case(12, 2, 3, 4), activation="relu")
    page, data = trace.page(steps=5), trace.to_dict()
    model = page.to_json()
    nodes = {node["name"]: node for node in data["nodes"]}
    for node in model["nodes"]:
        assert json.loads(node["value"]["exact"]) == nodes[node["name"]]["value"]
        assert (node["grad"] and json.loads(node["grad"]["exact"])) == (
            nodes[node["name"]]["grad"] or None)
    assert list(page.backward_order) == backward_order(trace)
    for node in page.nodes:
        if node.terms:  # one user each: its term is the gradient
            (term,) = node.terms
            np.testing.assert_allclose(term.value, node.grad, rtol=1e-12, atol=1e-15,
                                       err_msg=node.name)
            if term.combine:  # a bias: the products summed over the examples
                np.testing.assert_allclose(
                    np.sum(term.upstream * term.local, axis=1, keepdims=True), node.grad,
                    rtol=1e-12, atol=1e-15)
    updates = {u.name: u for u in page.updates}
    np.testing.assert_array_equal(updates["W1"].after, trace.W1_new)
    assert page.loss_before == trace.cost and page.loss_after == trace.cost_new
    assert len(page.timeline.loss) == 6 and page.timeline.loss[1] == trace.cost_new
    assert np.shape(page.timeline.parameters["W1"]) == (6, 3, 2)


def test_local_derivatives_are_the_courses():
    trace = explain_network(**random_case(13, 2, 3, 4), activation="sigmoid")
    local = local_derivatives(trace)
    a1, a2, y, m = trace.A1, trace.A2, trace.Y, trace.m
    np.testing.assert_allclose(local[("Z1", "A1")], a1 * (1 - a1), rtol=1e-12)
    np.testing.assert_allclose(local[("Z2", "A2")], a2 * (1 - a2), rtol=1e-12)
    np.testing.assert_allclose(local[("A2", "L")], -y / a2 + (1 - y) / (1 - a2), rtol=1e-12)
    np.testing.assert_allclose(local[("L", "J")], np.full((1, m), 1 / m), rtol=1e-15)
    np.testing.assert_array_equal(local[("b1", "Z1")], np.ones((3, m)))
    np.testing.assert_array_equal(local[("b2", "Z2")], np.ones((1, m)))


def test_html_views_and_show(monkeypatch):
    trace = explain_network()
    table = trace._repr_html_()
    for name in ("W1", "b1", "Z1", "A2", "J"):
        assert f"<td>{name}</td>" in table
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    trace.show(steps=3)
    assert len(shown) == 1 and "<iframe srcdoc=" in shown[0].data
    assert str(trace) == trace.table()


def test_docstring_example():
    assert doctest.testmod(network_module).failed == 0


def test_the_package_exports_explain_network():
    assert lograd.explain_network is explain_network
    assert "explain_network" in dir(lograd)


# -- bad input ------------------------------------------------------------------------------------
GOOD = random_case(0, 2, 3, 4)


@pytest.mark.parametrize("changes, message", [
    (dict(activation="softmax"), "activation must be one of tanh, relu, sigmoid; got 'softmax'"),
    (dict(X=[1.0, 2.0]), r"X must be an \(n_x, m\) array"),
    (dict(X=[["a", "b"]]), "X must be numbers"),
    (dict(X=np.array([[1.0, np.nan, 0, 0], [0, 0, 0, 0]])), "X must be finite numbers; row 1, "
                                                             "column 2 is nan"),
    (dict(Y=[[1.0, 0.0]]), r"Y must have shape \(1, m\) = \(1, 4\)"),
    (dict(Y=[[1.0, 0.0, 2.0, 1.0]]), "column 3 is 2"),
    (dict(Y=None), "give both X and Y, or neither"),
    (dict(b2=None), "missing b2"),
    (dict(W1=np.ones((3, 5))), r"W1 has shape \(3, 5\) but the examples have 2 features: W1 "
                               r"must be \(n_h, n_x\) = \(3, 2\)"),
    (dict(b1=np.ones((2, 1))), r"b1 has shape \(2, 1\); with W1 of shape \(3, 2\) it must be "
                               r"\(3, 1\)"),
    (dict(W2=np.ones((3, 1))), r"W2 has shape \(3, 1\); .* must be \(1, 3\)"),
    (dict(b2=np.ones(2)), r"b2 has shape \(2,\); .* must be \(1, 1\)"),
    (dict(W1=np.array([[1.0, 2.0], [3.0, np.inf], [0.0, 0.0]])), "W1 must be finite numbers; "
                                                                  "row 2, column 2 is inf"),
    (dict(hidden=4), r"W1 has 3 rows \(hidden units\) but hidden is 4"),
    (dict(seed=3), "seed draws the default parameters"),
    (dict(alpha=0), "alpha must be a positive learning rate; got 0"),
    (dict(alpha=float("nan")), "alpha must be a positive learning rate"),
])
def test_bad_input_names_the_parameter(changes, message):
    kwargs = {**GOOD, **changes}
    with pytest.raises(UserError, match=message) as info:
        explain_network(**kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(hidden=0), "hidden must be a whole number of hidden units from 1 to 100; got 0"),
    (dict(hidden=101), "from 1 to 100; got 101"),
    (dict(hidden=2.0), "got 2.0"),
    (dict(seed=-1), "seed must be a whole number from 0 to 4294967295; got -1"),
])
def test_bad_defaults_are_refused(kwargs, message):
    with pytest.raises(UserError, match=re.escape(message)):
        explain_network(**kwargs)


# -- weights files --------------------------------------------------------------------------------
def weights(tmp_path, name="weights.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_read_parameters_round_trip(tmp_path):
    params = {name: GOOD[name] for name in PARAMETERS}
    path = weights(tmp_path, b1=params["b1"].ravel(), W1=params["W1"], W2=params["W2"],
                   b2=params["b2"].ravel())  # 1-D biases are taken in the course's shapes
    read = read_parameters(path, n_x=2, n_h=3)
    for name in PARAMETERS:
        np.testing.assert_array_equal(read[name], params[name])
        assert read[name].shape == params[name].shape and read[name].dtype == np.float64
    compressed = tmp_path / "compressed.npz"
    np.savez_compressed(compressed, **params)
    assert read_parameters(compressed, n_x=2)["W1"].tolist() == params["W1"].tolist()


@pytest.mark.parametrize("arrays, message", [
    (dict(W1=np.ones((3, 2)), b1=np.ones((3, 1)), W2=np.ones((1, 3))), "no array b2"),
    (dict(W1=np.ones((3, 2)), b1=np.ones((3, 1)), W2=np.ones((1, 3)), b2=np.ones((1, 1)),
          W3=np.ones(2)), "unexpected array 'W3'"),
    (dict(W1=np.ones((4, 2)), b1=np.ones((4, 1)), W2=np.ones((1, 4)), b2=np.ones((1, 1))),
     r"W1 has 4 rows \(hidden units\) but --hidden is 3"),
    (dict(W1=np.ones((3, 5)), b1=np.ones((3, 1)), W2=np.ones((1, 3)), b2=np.ones((1, 1))),
     r"W1 has shape \(3, 5\) but the examples have 2 features"),
    (dict(W1=np.ones((3, 2)), b1=np.array([[1.0], [np.nan], [0.0]]), W2=np.ones((1, 3)),
          b2=np.ones((1, 1))), "b1 must be finite numbers; row 2, column 1 is nan"),
    (dict(W1=np.array([["a", "b"]] * 3), b1=np.ones((3, 1)), W2=np.ones((1, 3)),
          b2=np.ones((1, 1))), "W1 holds text, not numbers"),
    (dict(W1=np.ones((3, 2), dtype=bool), b1=np.ones((3, 1)), W2=np.ones((1, 3)),
          b2=np.ones((1, 1))), "W1 holds bool values, not numbers"),
    (dict(W1=np.array([None] * 6, dtype=object).reshape(3, 2), b1=np.ones((3, 1)),
          W2=np.ones((1, 3)), b2=np.ones((1, 1))), "never unpickles"),
])
def test_read_parameters_refuses_bad_files(tmp_path, arrays, message):
    path = weights(tmp_path, **arrays)
    with pytest.raises(UserError, match=message) as info:
        read_parameters(path, n_x=2, n_h=3)
    assert str(info.value).startswith(f"--params {path}: ") and "\n" not in str(info.value)


def test_read_parameters_refuses_what_is_not_an_archive_and_bounds_its_size(tmp_path,
                                                                              monkeypatch):
    text = tmp_path / "weights.npz"
    text.write_text("W1,b1\n1,2\n")
    with pytest.raises(UserError, match="not a weights file"):
        read_parameters(text, n_x=2)
    with pytest.raises(UserError, match="absent.npz: no such file"):
        read_parameters(tmp_path / "absent.npz", n_x=2)
    with pytest.raises(UserError, match="is a directory"):
        read_parameters(tmp_path, n_x=2)
    path = weights(tmp_path, "big.npz", W1=np.ones((3, 2)), b1=np.ones((3, 1)),
                   W2=np.ones((1, 3)), b2=np.ones((1, 1)))
    monkeypatch.setattr(network_module, "MAX_PARAMETER_BYTES", 300)  # 4 members of ~150 bytes
    with pytest.raises(UserError, match="unpack to more than 300 bytes"):
        read_parameters(path, n_x=2)
