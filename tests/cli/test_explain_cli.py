"""`lograd explain` driven as a user drives it: a subprocess, its output, its exit status."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from lograd.lectures.logistic import explain
from lograd.lectures.network import explain_network

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def lograd_explain(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lograd", "explain", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def strict_json(text):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def same_json(library_trace):
    return json.loads(json.dumps(library_trace.to_dict()))


def test_bare_command_teaches_the_default_example():
    result = lograd_explain()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    for text in ("z = w1*x1 + w2*x2 + b", "da = -y/a + (1-y)/(1-a)", "dz = a - y",
                 "dw1 = x1*dz", "db = dz", "Gradient-descent step", "Loss L before the step",
                 "Agreement: every derivative from backpropagation equals its closed form"):
        assert text in out, text


def test_negative_numbers_parse_and_json_is_the_library_trace():
    result = lograd_explain("--x", "1.0", "-2.0", "--w", "0.5", "-0.3", "--b", "-0.1",
                            "--y", "1", "--alpha", "0.1", "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["x"] == [1.0, -2.0] and data["w"] == [0.5, -0.3] and data["b"] == -0.1
    assert data == same_json(explain([1.0, -2.0], [0.5, -0.3], -0.1, 1.0, 0.1))
    assert {"z", "a", "loss", "da", "dz", "dw", "db", "w_new", "b_new", "loss_new"} <= set(data)


def test_scientific_and_bare_decimal_negatives_parse():
    result = lograd_explain("--x", "-1e-3", "-2.", "--w", "-.5", "1E+1", "--b", "-2.5e-1",
                            "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["x"] == [-0.001, -2.0] and data["w"] == [-0.5, 10.0] and data["b"] == -0.25


def test_several_examples_from_options_and_from_csv_agree(tmp_path):
    csv = tmp_path / "examples.csv"
    csv.write_text("x1,x2,y\n1,2,1\n3,-1,0\n0.5,0.5,1\n")
    by_options = lograd_explain("--x", 1, 2, "--y", 1, "--x", 3, -1, "--y", 0,
                                "--x", 0.5, 0.5, "--y", 1, "--json")
    by_file = lograd_explain("--data", csv, "--json")
    assert by_options.returncode == 0 and by_file.returncode == 0, by_file.stderr
    data = strict_json(by_file.stdout)
    assert data == strict_json(by_options.stdout)
    expected = explain([[1, 2], [3, -1], [0.5, 0.5]], y=[1, 0, 1])
    assert data == same_json(expected)
    assert len(data["dz"]) == 3 and len(data["dw"]) == 2
    table = lograd_explain("--data", csv)
    assert "m = 3 examples" in table.stdout and "J = (1/m)*sum(L)" in table.stdout


def test_pictures_are_written(tmp_path):
    result = lograd_explain("--svg", "graph.svg", "--png", "graph.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "graph.svg").read_text()
    assert "<svg" in svg and "a [sigmoid]" in svg and "grad -0.7773" in svg
    assert (tmp_path / "graph.png").read_bytes()[:8] == PNG_SIGNATURE
    assert "Agreement" in result.stdout  # the table is still printed


def test_saturated_sigmoid_explained_without_warnings():
    result = lograd_explain("--x", "40", "--w", "1", "--b", "0", "--y", "0")
    assert result.returncode == 0
    assert result.stderr == ""  # no RuntimeWarning from the division by zero
    words = " ".join(result.stdout.split())  # prose is wrapped: compare words
    assert "divides by zero" in words and "fused op" in words
    as_json = lograd_explain("--x", "40", "--w", "1", "--b", "0", "--y", "0", "--json")
    data = strict_json(as_json.stdout)
    assert data["saturated"] is True and data["fused"]["dz"] == 1.0
    # a = 1 exactly: loss = -log(1 - a) = inf, dz = da * a(1 - a) = inf * 0 = nan, as computed
    assert data["loss"] == data["da"] == {"__float__": "inf"}
    assert data["dz"] == {"__float__": "nan"}


BAD_CSV = {
    "not_a_number.csv": "x1,x2,y\n1,2,1\n3,oops,0\n",
    "ragged.csv": "x1,x2,y\n1,2,1\n3,1\n",
    "label_two.csv": "x1,x2,y\n1,2,1\n3,1,2\n",
    "words.csv": "x1,y\n1,yes\n2,no\n",
    "no_label.csv": "a,b\n1,2\n",
}


@pytest.mark.parametrize("args, message", [
    (["--w", 1, 2, 3], "w has 3 weights but the examples have 2 features"),
    (["--x", 1, 2, 3], "--w is needed"),
    (["--y", 2], "y must be a label 0 or 1"),
    (["--alpha", 0], "alpha must be a positive"),
    (["--alpha", -0.5], "alpha must be a positive"),
    (["--b", "-inf"], "b must be a finite number"),
    (["--b", "abc"], "invalid float value"),
    (["--x", 1, 2, "--y", 1, "--y", 0], "give one --y per --x"),
    (["--x", 1, "--x", 1, 2, "--y", 0, "--y", 1], "the same number of features"),
    (["--data", "{tmp}/not_a_number.csv"], "oops"),
    (["--data", "{tmp}/ragged.csv"], "line 3"),
    (["--data", "{tmp}/label_two.csv"], "label_two.csv: line 3"),
    (["--data", "{tmp}/words.csv"], "must hold 0 or 1"),
    (["--data", "{tmp}/no_label.csv"], "'y'"),
    (["--data", "{tmp}/absent.csv"], "absent.csv"),
    (["--data", "{tmp}/ragged.csv", "--x", 1, 2], "not both"),
    (["--svg", "{tmp}/graph.png"], "must end in .svg"),
    (["--png", "{tmp}/missing/graph.png"], "does not exist"),
    (["--html", "{tmp}/missing/page.html"], "missing/page.html: directory"),
    (["--html", "{tmp}/page.svg"], "must end in .html"),
    (["--steps", 5], "give --html FILE too"),
    (["--html", "{tmp}/page.html", "--steps", 0], "--steps 0: give a number of steps from 1"),
    (["--html", "{tmp}/page.html", "--steps", "ten"], "invalid int value"),
    (["--data", "{tmp}/data.html", "--html", "{tmp}/data.html"], "is the input --data"),
])
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, args, message):
    for name, text in BAD_CSV.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "data.html").write_text("x1,y\n1,1\n2,0\n")
    args = [str(a).format(tmp=tmp_path) for a in args]
    result = lograd_explain(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lograd explain: error:") and message in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "graph.png").exists() and not (tmp_path / "page.html").exists()
    assert (tmp_path / "data.html").read_text() == "x1,y\n1,1\n2,0\n"  # inputs untouched


def embedded_model(page):
    match = re.search(r'<script type="application/json" id="lograd-model">(.*?)</script>', page,
                      re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_html_page_carries_the_json_numbers_and_the_timeline(tmp_path):
    csv = tmp_path / "examples.csv"
    csv.write_text("x1,x2,y\n1,2,1\n3,-1,0\n0.5,0.5,1\n")
    (tmp_path / "page.html").write_text("an old page")
    result = lograd_explain("--data", csv, "--html", "page.html", "--steps", 7, "--json",
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data == same_json(explain([[1, 2], [3, -1], [0.5, 0.5]], y=[1, 0, 1]))
    model = embedded_model((tmp_path / "page.html").read_text(encoding="utf-8"))
    values = {node["name"]: strict_json(node["value"]["exact"]) for node in model["nodes"]}
    assert values == {node["name"]: node["value"] for node in data["nodes"]}
    assert len(model["timeline"]["loss"]) == 8
    assert model["timeline"]["loss"][0] == data["cost"]
    assert model["timeline"]["loss"][1] == data["cost_new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples.csv", "page.html"]


# -- the course's two-layer network: lograd explain --hidden N ----------------------------------
def network_json(trace):
    return json.loads(json.dumps(trace.to_dict()))


def save_weights(path, n_h=3, n_x=2, seed=0, **changes):
    rng = np.random.default_rng(seed)
    arrays = dict(W1=rng.normal(size=(n_h, n_x)), b1=rng.normal(size=(n_h, 1)),
                  W2=rng.normal(size=(1, n_h)), b2=rng.normal(size=(1, 1)))
    arrays.update(changes)
    np.savez(path, **{name: value for name, value in arrays.items() if value is not None})
    return arrays


def test_hidden_json_is_the_python_trace_of_the_course_defaults():
    result = lograd_explain("--hidden", 4, "--json")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    data = strict_json(result.stdout)
    assert data == network_json(explain_network(hidden=4))
    assert data["agree"] is True and np.shape(data["W1"]) == (4, 2)
    seeded = strict_json(lograd_explain("--hidden", 2, "--seed", 7, "--json").stdout)
    assert seeded == network_json(explain_network(hidden=2, seed=7))


def test_hidden_with_data_weights_activation_and_alpha_is_the_python_trace(tmp_path):
    csv = tmp_path / "examples.csv"
    csv.write_text("x1,x2,x3,y\n1,2,0.5,1\n3,-1,0,0\n0.5,0.5,-2,1\n-1,0.25,1,0\n2,2,2,1\n")
    arrays = save_weights(tmp_path / "weights.npz", n_h=3, n_x=3)
    args = ["--hidden", 3, "--activation", "relu", "--data", csv, "--params",
            tmp_path / "weights.npz", "--alpha", 0.5]
    result = lograd_explain(*args, "--json")
    assert result.returncode == 0, result.stderr
    X = np.array([[1, 2, 0.5], [3, -1, 0], [0.5, 0.5, -2], [-1, 0.25, 1], [2, 2, 2]]).T
    expected = explain_network(X, [[1, 0, 1, 0, 1]], **arrays, activation="relu", alpha=0.5)
    assert strict_json(result.stdout) == network_json(expected)
    table = lograd_explain(*args)
    assert table.returncode == 0 and table.stderr == ""
    words = " ".join(table.stdout.split())
    for text in ("m = 5 examples, n_x = 3, n_h = 3 relu", "A1 = relu(Z1)",
                 "dZ1 = the engine's m*dJ/dZ1 (course: (W2.T @ dZ2) * ((Z1 > 0)))",
                 "Convention: The course's dZ2 = A2 - Y", "Cost J before the step",
                 "Agreement: every value and derivative from backpropagation"):
        assert text in words, text


def test_network_pictures_show_small_matrices_by_value_and_others_by_shape(tmp_path):
    result = lograd_explain("--hidden", 3, "--svg", "net.svg", "--png", "net.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "net.png").read_bytes()[:8] == PNG_SIGNATURE
    trace = explain_network(hidden=3)
    texts = svg_texts(tmp_path / "net.svg")
    assert "value (3, 2)" in texts and "grad (3, 2)" in texts  # W1 (3, 2): by value
    for row in (trace.W1, trace.dW1):  # each number with 3 significant digits, row by row
        for numbers in row:
            assert any(all(f"{v:.3g}" in text for v in numbers) and text.startswith("[")
                       for text in texts), numbers
    assert "value shape (3, 5)" in texts and "grad shape (3, 5)" in texts  # Z1: by its shape
    assert "Z1 [add]" in texts and "A2 [sigmoid]" in texts


def svg_texts(path):
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    return ["".join(el.itertext()) for el in root.iter() if el.tag.endswith("text")]


def test_network_page_carries_the_json_numbers_and_the_timeline(tmp_path):
    result = lograd_explain("--hidden", 4, "--html", "net.html", "--steps", 7, "--json",
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    model = embedded_model((tmp_path / "net.html").read_text(encoding="utf-8"))
    for node in model["nodes"]:
        expected = next(n for n in data["nodes"] if n["name"] == node["name"])
        assert strict_json(node["value"]["exact"]) == expected["value"]
        assert (node["grad"] and strict_json(node["grad"]["exact"])) == (expected["grad"] or None)
    assert [step["nodes"][0] for step in model["steps"] if step["kind"] == "backward"] == \
        data["backward_order"]
    assert len(model["timeline"]["loss"]) == 8
    assert model["timeline"]["loss"][:2] == [data["cost"], data["cost_new"]]
    assert {u["name"]: strict_json(u["after"]["exact"]) for u in model["updates"]} == {
        name: data[f"{name}_new"] for name in ("W1", "b1", "W2", "b2")}


def in_process(capsys, *args):
    """``lograd explain ARGS`` in this process (fast): (status, stdout, stderr)."""
    from lograd.cli import main

    try:
        status = main(["explain", *map(str, args)])
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


NETWORK_BAD = [
    (["--hidden", 0], "--hidden 0: give a number of hidden units from 1 to 100"),
    (["--hidden", 101], "--hidden 101: give a number of hidden units from 1 to 100"),
    (["--hidden", "four"], "argument --hidden: invalid int value: 'four'"),
    (["--hidden", 4, "--activation", "softmax"], "argument --activation: invalid choice"),
    (["--activation", "relu"], "--activation is for the two-layer network: give --hidden N"),
    (["--params", "{tmp}/good.npz"], "--params is for the two-layer network"),
    (["--seed", 3], "--seed is for the two-layer network"),
    (["--hidden", 4, "--w", 1, 2], "--w is for the logistic-regression trace"),
    (["--hidden", 4, "--x", 1, 2], "--x is for the logistic-regression trace"),
    (["--hidden", 3, "--params", "{tmp}/good.npz", "--seed", 1],
     "--seed draws the default weights and --params gives them: use one"),
    (["--hidden", 4, "--seed", -1], "--seed -1: give a whole number from 0 to 4294967295"),
    (["--hidden", 4, "--alpha", 0], "--alpha 0: the learning rate must be a positive number"),
    (["--hidden", 4, "--alpha", "nan"], "--alpha nan: the learning rate must be a positive"),
    (["--hidden", 3, "--params", "{tmp}/absent.npz"], "--params {tmp}/absent.npz: no such file"),
    (["--hidden", 3, "--params", "{tmp}/text.npz"], "--params {tmp}/text.npz: not a weights "
                                                     "file (.npz), or damaged"),
    (["--hidden", 4, "--params", "{tmp}/good.npz"],
     "--params {tmp}/good.npz: W1 has 3 rows (hidden units) but --hidden is 4"),
    (["--hidden", 3, "--params", "{tmp}/nan.npz"],
     "--params {tmp}/nan.npz: b1 must be finite numbers; row 2, column 1 is nan"),
    (["--hidden", 3, "--params", "{tmp}/short.npz"], "short.npz: no array b2"),
    (["--hidden", 3, "--params", "{tmp}/extra.npz"], "extra.npz: unexpected array 'W3'"),
    (["--hidden", 3, "--params", "{tmp}/pickled.npz"], "which lograd never unpickles"),
    (["--hidden", 3, "--params", "{tmp}/wide.npz"], "wide.npz: W2 has shape (1, 4); with W1 of "
                                                     "shape (3, 2) it must be (1, 3)"),
    (["--hidden", 3, "--data", "{tmp}/three.csv", "--params", "{tmp}/good.npz"],
     "W1 has shape (3, 2) but the examples have 3 features: W1 must be (n_h, n_x) = (3, 3)"),
    (["--hidden", 3, "--data", "{tmp}/label_two.csv"], "label_two.csv: line 3, label column 'y'"),
    (["--hidden", 3, "--data", "{tmp}/not_a_number.csv"], "oops"),
    (["--hidden", 3, "--params", "{tmp}/good.npz", "--html", "{tmp}/good.npz"],
     "--html {tmp}/good.npz: the file name must end in .html"),
    (["--hidden", 3, "--params", "{tmp}/good.npz", "--svg", "{tmp}/good.npz"],
     "--svg {tmp}/good.npz: the file name must end in .svg"),
    (["--hidden", 3, "--params", "{tmp}/page.html", "--html", "{tmp}/page.html"],
     "--html {tmp}/page.html: is the input --params"),
    (["--hidden", 3, "--svg", "{tmp}/net.svg", "--png", "{tmp}/net.jpg"],
     "--png {tmp}/net.jpg: the file name must end in .png"),
]


def network_inputs(tmp_path):
    for name, text in BAD_CSV.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "three.csv").write_text("x1,x2,x3,y\n1,2,3,1\n3,2,1,0\n")
    (tmp_path / "text.npz").write_text("W1,b1,W2,b2\n")
    (tmp_path / "page.html").write_text("<p>an old page</p>")
    save_weights(tmp_path / "good.npz")
    save_weights(tmp_path / "nan.npz", b1=np.array([[0.5], [np.nan], [1.0]]))
    save_weights(tmp_path / "short.npz", b2=None)
    save_weights(tmp_path / "extra.npz", W3=np.ones(2))
    save_weights(tmp_path / "pickled.npz", W1=np.array([[None, 1]] * 3, dtype=object))
    save_weights(tmp_path / "wide.npz", W2=np.ones((1, 4)))
    return {path.name: path.read_bytes() for path in tmp_path.iterdir()}


@pytest.mark.parametrize("args, message", NETWORK_BAD)
def test_network_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys, args, message):
    inputs = network_inputs(tmp_path)
    args = [str(a).format(tmp=tmp_path) for a in args]
    status, out, err = in_process(capsys, *args)
    assert status == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("lograd explain: error:")
    assert message.format(tmp=tmp_path) in lines[0]
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == inputs  # untouched


def test_network_bad_weights_file_from_the_real_command(tmp_path):
    network_inputs(tmp_path)
    result = lograd_explain("--hidden", 3, "--params", tmp_path / "wide.npz", "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"lograd explain: error: --params {tmp_path / 'wide.npz'}: W2 has shape (1, 4); with W1 "
        "of shape (3, 2) it must be (1, 3)"]
