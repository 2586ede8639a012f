"""`lograd explain` driven as a user drives it: a subprocess, its output, its exit status."""

import json
import re
import subprocess
import sys

import pytest

from lograd.explain import explain

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
    assert data["saturated"] is True and data["dz"] is None and data["fused"]["dz"] == 1.0


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
