"""`lograd explain --html` opened in real headless Chromium: the keys pressed, every node's
data-value/data-grad read at every step and compared with `--json`, to full precision."""

import json
import math
import shutil
import subprocess
import sys

import pytest

from lograd.lectures.logistic import backward_order, descend, explain

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="headless chromium is not installed (.ci/run installs Debian's "
                              "chromium and chromium-driver packages)"),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000"]

# (arguments, the same example for the library, timeline steps)
CASES = {
    "one example": (["--x", "1", "2", "--w", "0.5", "-1", "--b", "0.25", "--y", "1"],
                    dict(x=[1.0, 2.0], w=[0.5, -1.0], b=0.25, y=1.0), 30),
    "m examples from a CSV": (["--data", "{tmp}/examples.csv", "--w", "0.3", "-0.7", "1.1",
                               "--alpha", "0.5"],
                              dict(x=[[1, 2, 0.5], [3, -1, 0], [0.5, 0.5, -2], [-1, 0.25, 1]],
                                   w=[0.3, -0.7, 1.1], b=0.25, y=[1, 0, 1, 0], alpha=0.5), 25),
    "a saturated example among two": (["--x", "40", "--y", "0", "--x", "1", "--y", "1", "--w",
                                       "1", "--b", "0"],
                                      dict(x=[[40.0], [1.0]], w=[1.0], b=0.0, y=[0.0, 1.0]), 3),
}
CSV = "x1,x2,x3,y\n1,2,0.5,1\n3,-1,0,0\n0.5,0.5,-2,1\n-1,0.25,1,0\n"
READ_NODES = """return Array.from(document.querySelectorAll('[data-node]')).map(function (e) {
  return [e.getAttribute('data-node'), e.getAttribute('data-value'), e.getAttribute('data-grad')];
});"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def lograd_explain(*args):
    result = subprocess.run([sys.executable, "-m", "lograd", "explain", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def press(driver, key, times=1):
    from selenium.webdriver.common.action_chains import ActionChains

    for _ in range(times):
        ActionChains(driver).send_keys(key).perform()


def state(driver):
    """node -> (data-value, data-grad) as the page has them now (None when absent)."""
    return {name: (value, grad) for name, value, grad in driver.execute_script(READ_NODES)}


def console_errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def finite(number):
    """As JSON holds it: inf and nan tagged (lograd.files.json_codec)."""
    return float(number) if math.isfinite(number) else {"__float__": repr(float(number))}


def strict(text):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("case", CASES)
def test_stepping_reveals_every_number_of_json_in_order(browser, tmp_path, case):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    args, library_args, steps = CASES[case]
    (tmp_path / "examples.csv").write_text(CSV)
    args = [arg.format(tmp=tmp_path) for arg in args]
    page = tmp_path / "page.html"
    data = strict(lograd_explain(*args, "--html", str(page), "--steps", str(steps), "--json"))
    expected = {node["name"]: node for node in data["nodes"]}
    trace = explain(**library_args)
    model = trace.page()
    engine_order = backward_order(trace)

    browser.get(page.as_uri())
    browser.get_log("browser")  # (start the log from this page)
    states = [state(browser)]
    assert set(states[0]) == set(expected)  # one element per --json node, named as there
    assert all(value is None and grad is None for value, grad in states[0].values())
    n_steps = 2 + sum(1 for n in model.nodes if n.inputs) + len(engine_order)
    for _ in range(n_steps + 1):  # one press past the end: the last step stays
        press(browser, Keys.ARROW_RIGHT)
        states.append(state(browser))
    assert states[-1] == states[-2]
    states.pop()

    grads_in_order = []
    for before, after in zip(states, states[1:]):
        for name, (value, grad) in after.items():
            if value is not None:
                assert strict(value) == expected[name]["value"], name  # exact float64
                inputs = model.node(name).inputs  # a value never comes before its inputs
                assert all(after[i][0] is not None for i in inputs), name
            if grad is not None:
                assert strict(grad) == expected[name]["grad"], name
                assert value is not None
            was_value, was_grad = before[name]
            assert was_value is None or value == was_value  # nothing once reached goes away
            assert was_grad is None or grad == was_grad
            if was_grad is None and grad is not None:
                grads_in_order.append(name)
        assert after != before or after == states[-1]
    assert grads_in_order == engine_order  # the backward pass in the engine's order
    final = states[-1]
    for name in expected:
        assert final[name][0] is not None
        has_gradient = model.node(name).grad is not None
        assert (final[name][1] is not None) == has_gradient, name  # data get none

    # the update, at the last step
    rows = browser.find_elements(By.CSS_SELECTOR, "#detail tr[data-parameter]")
    after = {row.get_attribute("data-parameter"): strict(row.get_attribute("data-after"))
             for row in rows}
    n = data["n"]
    assert after == {**{f"w{i + 1}": data["w_new"][i] for i in range(n)}, "b": data["b_new"]}
    loss = browser.find_element(By.ID, "loss-step")
    assert strict(loss.get_attribute("data-before")) == data["cost"]
    assert strict(loss.get_attribute("data-after")) == data["cost_new"]

    # back, one step at a time, through exactly the same states; then Home and End
    for previous in reversed(states[:-1]):
        press(browser, Keys.ARROW_LEFT)
        assert state(browser) == previous
    press(browser, Keys.END)
    assert state(browser) == final
    press(browser, Keys.HOME)
    assert state(browser) == states[0]

    # the timeline: the slider's own keys move it, not the step-through
    path = descend(library_args["x"], library_args["w"], library_args["b"], library_args["y"],
                   library_args.get("alpha", 0.1), steps)
    slider = browser.find_element(By.ID, "slider")
    slider.click()
    press(browser, Keys.HOME)
    for k in (0, 1, 2, steps):
        if k == steps:
            press(browser, Keys.END)
        elif k:
            press(browser, Keys.ARROW_RIGHT)
        readout = browser.find_element(By.ID, "readout")
        assert readout.get_attribute("data-step") == str(k)
        assert strict(readout.get_attribute("data-loss")) == finite(path["cost"][k])
        parameters = strict(readout.get_attribute("data-parameters"))
        assert parameters == {**{f"w{i + 1}": finite(path["w"][k][i]) for i in range(n)},
                              "b": finite(path["b"][k])}
    assert state(browser) == states[0]  # the arrows on the slider left the steps alone
    assert k == steps and steps == int(slider.get_attribute("max"))
    # the loss chart: a line through the finite losses only (inf arrives tagged), or a note
    chart = browser.find_element(By.ID, "loss-chart")
    curves = chart.find_elements(By.CSS_SELECTOR, "polyline.curve")
    finite_costs = [cost for cost in path["cost"] if math.isfinite(cost)]
    if finite_costs:
        points = curves[0].get_attribute("points")
        assert len(curves) == 1 and "NaN" not in points
        assert len(points.split()) == len(finite_costs)
    else:
        assert "no finite values to plot" in chart.get_attribute("textContent")
    assert console_errors(browser) == []


def test_a_script_error_would_be_seen(browser, tmp_path):
    broken = tmp_path / "broken.html"
    page = explain().page().html()
    broken.write_text(page.replace('"use strict";', '"use strict"; notDefined();', 1))
    browser.get(broken.as_uri())
    errors = console_errors(browser)
    assert errors and "notDefined" in errors[0]["message"]
    assert state(browser) == {}  # and nothing was drawn


def test_the_notebook_view_is_the_same_page_inside_an_iframe(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    trace = explain()
    host = tmp_path / "notebook.html"  # what a notebook's output area holds after trace.show()
    host.write_text(f"<!DOCTYPE html><html><body>{trace.page().iframe()}</body></html>")
    browser.get(host.as_uri())
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    try:
        browser.find_element(By.TAG_NAME, "body").click()  # focus, as a reader clicks into it
        press(browser, Keys.END)
        final = state(browser)
        expected = {node["name"]: node for node in trace.to_dict()["nodes"]}
        assert {name: strict(value) for name, (value, _) in final.items()} == {
            name: node["value"] for name, node in expected.items()}
        assert strict(final["z"][1]) == trace.to_dict()["dz"]
    finally:
        browser.switch_to.default_content()
    assert console_errors(browser) == []


# (arguments, files to write, the same network for the library, timeline steps)
NETWORK_CASES = {
    "the course's defaults": (["--hidden", "4"], {}, dict(hidden=4), 50),
    "relu, data and weights from files": (
        ["--hidden", "2", "--activation", "relu", "--data", "{tmp}/examples.csv", "--params",
         "{tmp}/weights.npz", "--alpha", "0.5"],
        {"W1": [[0.5, -1.0, 0.25], [1.5, 0.5, -0.5]], "b1": [[0.1], [-0.2]],
         "W2": [[1.0, -2.0]], "b2": [[0.3]]},
        dict(X=[[1, 3, 0.5, -1], [2, -1, 0.5, 0.25], [0.5, 0, -2, 1]], Y=[[1, 0, 1, 0]],
             activation="relu", alpha=0.5), 12),
}


@pytest.mark.parametrize("case", NETWORK_CASES)
def test_network_page_reveals_every_number_of_json_in_the_engines_order(browser, tmp_path, case):
    import numpy as np
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from lograd.lectures.network import descend_network, explain_network
    from lograd.lectures.numbers import jsonable

    args, weights, library_args, steps = NETWORK_CASES[case]
    (tmp_path / "examples.csv").write_text(CSV)
    if weights:
        np.savez(tmp_path / "weights.npz", **{k: np.array(v) for k, v in weights.items()})
        library_args = {**library_args, **{k: np.array(v) for k, v in weights.items()}}
    args = [arg.format(tmp=tmp_path) for arg in args]
    page = tmp_path / "net.html"
    data = strict(lograd_explain(*args, "--html", str(page), "--steps", str(steps), "--json"))
    expected = {node["name"]: node for node in data["nodes"]}
    trace = explain_network(**library_args)
    model = trace.page()

    browser.get(page.as_uri())
    browser.get_log("browser")
    states = [state(browser)]
    assert set(states[0]) == set(expected)
    assert all(value is None and grad is None for value, grad in states[0].values())
    for _ in range(len(model.steps())):  # one press past the end
        press(browser, Keys.ARROW_RIGHT)
        states.append(state(browser))
    assert states[-1] == states[-2]
    states.pop()
    grads_in_order = []
    for before, after in zip(states, states[1:]):
        for name, (value, grad) in after.items():
            if value is not None:
                assert strict(value) == expected[name]["value"], name  # exact float64 matrices
                assert all(after[i][0] is not None for i in model.node(name).inputs), name
            if grad is not None:
                assert strict(grad) == expected[name]["grad"], name
            if before[name][1] is None and grad is not None:
                grads_in_order.append(name)
        assert after != before or after == states[-1]
    assert grads_in_order == data["backward_order"]
    final = states[-1]
    assert all((final[name][1] is not None) == (expected[name]["grad"] is not None)
               for name in expected)

    rows = browser.find_elements(By.CSS_SELECTOR, "#detail tr[data-parameter]")
    assert {row.get_attribute("data-parameter"): strict(row.get_attribute("data-after"))
            for row in rows} == {name: data[f"{name}_new"] for name in ("W1", "b1", "W2", "b2")}
    loss = browser.find_element(By.ID, "loss-step")
    assert strict(loss.get_attribute("data-before")) == data["cost"]
    assert strict(loss.get_attribute("data-after")) == data["cost_new"]

    for previous in reversed(states[:-1]):
        press(browser, Keys.ARROW_LEFT)
        assert state(browser) == previous
    press(browser, Keys.END)
    assert state(browser) == final

    path = descend_network(trace.X, trace.Y, **trace.parameters, activation=trace.activation,
                           alpha=trace.alpha, steps=steps)
    slider = browser.find_element(By.ID, "slider")
    slider.click()
    press(browser, Keys.HOME)
    for k in (0, 1, 2, steps):
        if k == steps:
            press(browser, Keys.END)
        elif k:
            press(browser, Keys.ARROW_RIGHT)
        readout = browser.find_element(By.ID, "readout")
        assert readout.get_attribute("data-step") == str(k)
        assert strict(readout.get_attribute("data-loss")) == finite(path["cost"][k])
        assert strict(readout.get_attribute("data-parameters")) == {
            name: jsonable(path[name][k]) for name in ("W1", "b1", "W2", "b2")}
    # the charts drew one line per number of each matrix, all of them finite
    curves = browser.find_elements(By.CSS_SELECTOR, "#param-chart polyline.curve")
    assert len(curves) == sum(np.size(trace.parameters[name]) for name in trace.parameters)
    assert all("NaN" not in curve.get_attribute("points") for curve in curves)
    assert console_errors(browser) == []
