"""MLPClassifier against scikit-learn's and PyTorch's, same architecture, data and optimizer.

Three problems (issue 14):
  (a) the course's planar net: the flower, 400 x 2, 4 tanh units, full-batch gd, lr 1.2;
  (b) digits 1797 x 64, (64,) relu, adam (lr 1e-3), batch 200;
  (c) 200,000 x 50 synthetic, (256, 128) relu, adam (lr 1e-3), batch 256.
For each: the median time per epoch over interleaved repeats, and the time to reach the training
loss scikit-learn reaches after the last of its epochs. scikit-learn's full-batch gd is its 'sgd'
with ``batch_size=n``, ``momentum=0``, ``shuffle=False``. PyTorch runs eager, and compiled
(``torch.compile``) when that works here. Run::

    .venv/bin/python bench/bench_mlp.py [--sections a,b,c] [--repeats 5] [--output FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLP
from threadpoolctl import threadpool_info, threadpool_limits

import lograd
from lograd import MLPClassifier
from lograd.datasets import make_flower

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

warnings.simplefilter("ignore", ConvergenceWarning)

PROBLEMS = {
    "a": dict(title="(a) planar flower 400x2, (4,) tanh, full-batch gd lr 1.2", epochs=2000,
              hidden=(4,), activation="tanh", solver="gd", lr=1.2, batch=None),
    "b": dict(title="(b) digits 1797x64, (64,) relu, adam, batch 200", epochs=30,
              hidden=(64,), activation="relu", solver="adam", lr=1e-3, batch=200),
    "c": dict(title="(c) 200k x 50 synthetic, (256, 128) relu, adam, batch 256", epochs=2,
              hidden=(256, 128), activation="relu", solver="adam", lr=1e-3, batch=256),
}


def data(key):
    if key == "a":
        return make_flower(400, random_state=1)
    if key == "b":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    X, y = make_classification(200_000, 50, n_informative=30, n_classes=2, random_state=0)
    return X, y


def lograd_fit(problem, X, y, epochs):
    solver = problem["solver"]
    model = MLPClassifier(problem["hidden"], problem["activation"], solver=solver,
                          learning_rate_init=problem["lr"], max_iter=epochs, tol=0.0,
                          alpha=0.0 if solver == "gd" else 1e-4, random_state=0,
                          batch_size=problem["batch"] or "auto", n_iter_no_change=10 ** 6)
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start, model.loss_curve_[1:]


def sklearn_fit(problem, X, y, epochs):
    full = problem["batch"] is None
    model = SklearnMLP(problem["hidden"], activation=problem["activation"],
                       solver="sgd" if full else problem["solver"],
                       learning_rate_init=problem["lr"], max_iter=epochs, tol=0.0,
                       alpha=0.0 if full else 1e-4, random_state=0,
                       batch_size=len(y) if full else problem["batch"],
                       momentum=0.0, shuffle=not full, n_iter_no_change=10 ** 6)
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start, list(model.loss_curve_)


def torch_fit(problem, X, y, epochs, compiled=False):
    torch.manual_seed(0)
    Xt = torch.as_tensor(X, dtype=torch.float64)
    k = len(np.unique(y))
    layers, units = [], [X.shape[1], *problem["hidden"]]
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[problem["activation"]]
    for a, b in zip(units[:-1], units[1:]):
        layers += [torch.nn.Linear(a, b), act()]
    layers.append(torch.nn.Linear(units[-1], 1 if k == 2 else k))
    net = torch.nn.Sequential(*layers).double()
    if k == 2:
        yt = torch.as_tensor(y, dtype=torch.float64)[:, None]
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        yt = torch.as_tensor(y, dtype=torch.long)
        loss_fn = torch.nn.CrossEntropyLoss()
    full = problem["batch"] is None
    opt = (torch.optim.SGD(net.parameters(), lr=problem["lr"]) if full else
           torch.optim.Adam(net.parameters(), lr=problem["lr"], weight_decay=0.0))

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        return loss

    if compiled:
        step = torch.compile(step)
    curve, n = [], len(y)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        if full:
            curve.append(float(step(Xt, yt)))
            continue
        order, total = torch.randperm(n, generator=generator), 0.0
        for i in range(0, n, problem["batch"]):
            rows = order[i:i + problem["batch"]]
            total += float(step(Xt[rows], yt[rows])) * len(rows)
        curve.append(total / n)
    return time.perf_counter() - start, curve


def time_to(curve, seconds, target):
    """Seconds until the curve first reaches ``target`` (the epochs' share of the time)."""
    for i, loss in enumerate(curve):
        if loss <= target:
            return seconds * (i + 1) / len(curve)
    return float("nan")


def machine() -> list:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    blas = [f"{lib['internal_api']} {lib['version']} x{lib['num_threads']}"
            for lib in threadpool_info() if lib["user_api"] == "blas"]
    return [f"- CPU: {cpu}, {os.cpu_count()} logical cores; load average "
            f"{os.getloadavg()[0]:.2f}",
            f"- python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
            f"{sklearn.__version__}, lograd {lograd.__version__}, "
            f"torch {torch.__version__ if torch else 'absent'}; BLAS {', '.join(blas)}",
            "- every library on one thread (BLAS and torch), float64 everywhere"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="a,b,c")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output")
    args = parser.parse_args(argv)
    lines = ["# MLPClassifier: lograd, scikit-learn, PyTorch", "", *machine(), ""]
    if torch:
        torch.set_num_threads(1)
    runners = {"lograd": lograd_fit, "scikit-learn": sklearn_fit}
    if torch:
        runners["PyTorch eager"] = torch_fit
        try:
            torch_fit(PROBLEMS["a"], *data("a"), 2, compiled=True)
            runners["PyTorch compiled"] = lambda p, X, y, e: torch_fit(p, X, y, e, True)
        except Exception as exc:  # noqa: BLE001  (torch.compile's failure is reported, not fatal)
            lines.append(f"(torch.compile does not run here: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:120]})")
    printed = 0
    for key in args.sections.split(","):
        problem = PROBLEMS[key]
        X, y = data(key)
        epochs = problem["epochs"]
        times = {name: [] for name in runners}
        curves = {}
        with threadpool_limits(1):
            for run in runners.values():  # warm up (numba, traces, torch.compile)
                run(problem, X, y, 2)
            for _ in range(args.repeats):  # interleaved: the machine's load drifts
                for name, run in runners.items():
                    seconds, curve = run(problem, X, y, epochs)
                    times[name].append(seconds)
                    curves[name] = curve
        target = curves["scikit-learn"][-1]
        base = statistics.median(times["scikit-learn"]) / epochs
        lines += ["", f"## {problem['title']}, {epochs} epochs, {args.repeats} runs", "",
                  "| library | ms/epoch (median) | x scikit-learn | final loss | "
                  f"s to loss {target:.4g} |", "|---|---|---|---|---|"]
        for name in runners:
            per_epoch = statistics.median(times[name]) / epochs
            reach = time_to(curves[name], statistics.median(times[name]), target)
            lines.append(f"| {name} | {per_epoch * 1e3:.3f} | {per_epoch / base:.2f} | "
                         f"{curves[name][-1]:.5g} | {reach:.3g} |")
        print("\n".join(lines[printed:]), flush=True)
        printed = len(lines)
    if args.output:
        with open(args.output, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
