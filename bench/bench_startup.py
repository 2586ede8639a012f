"""Start-up time of ``lograd``: the import of the engine and the commands, as a user runs them.

Run::

    python bench/bench_startup.py               # 15 runs of each command
    python bench/bench_startup.py --runs 30 --output startup.md

Each command is a fresh process started with :mod:`subprocess` (``lograd`` is the console
script next to this interpreter, else ``python -m lograd``), timed from start to exit on the
wall clock, after one warm-up run that is not counted (it fills the OS file cache and numba's
on-disk cache, so ``train`` is measured with a warm numba cache). Every command runs in a fresh
temporary directory; the runs of the commands are interleaved (A B C ... A B C ...), so that a
slow spell of a shared machine touches them all alike. The table gives the median, min and max
over the runs; the target is met when the median is within it.

A second table lists the heavy libraries each command imports (one extra run with
``python -X importtime``): ``from lograd import Tensor`` must load none of scikit-learn, numba,
pandas, Dask or matplotlib.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("numpy", "scipy", "pandas", "pyarrow", "sklearn", "numba", "dask", "distributed",
         "matplotlib", "tqdm")
NOT_FOR_TENSOR = ("sklearn", "numba", "pandas", "dask", "matplotlib")


def lograd_command() -> list:
    """How a user starts lograd: the console script beside this interpreter, if installed."""
    script = Path(sys.executable).with_name("lograd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lograd"]


def commands(lograd: list) -> list:
    """(name, argv, target seconds or None)."""
    python = [sys.executable, "-c"]
    return [
        ("python -c pass", [*python, "pass"], None),
        ("from lograd import Tensor", [*python, "from lograd import Tensor"], None),
        ("import lograd.workflows", [*python, "import lograd.workflows"], None),
        ("lograd --help", [*lograd, "--help"], 0.3),
        ("lograd train --help", [*lograd, "train", "--help"], 0.3),
        ("lograd explain", [*lograd, "explain"], 1.0),
        ("lograd train (bundled data)", [*lograd, "train", "-o", "model.lograd"], 2.5),
    ]


class Failed(Exception):
    pass


def run_once(argv, cwd) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        last = (result.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
        raise Failed(f"{' '.join(argv)} failed with status {result.returncode}: {last}")
    return elapsed


def heavy_imports(argv, cwd, lograd: list) -> list:
    """The heavy top-level packages ``argv`` imports (from ``python -X importtime``)."""
    if argv[:len(lograd)] == lograd:
        argv = [sys.executable, "-m", "lograd", *argv[len(lograd):]]
    argv = [argv[0], "-X", "importtime", *argv[1:]]
    result = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    names = {m.group(1).split(".")[0] for m in
             re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", result.stderr, re.M)}
    return [name for name in HEAVY if name in names]


def machine() -> list:
    cpu = platform.processor() or "unknown CPU"
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f
                    if line.startswith("model name")), cpu)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    versions = ", ".join(f"{name} {_version(name)}" for name in
                         ("numpy", "scipy", "scikit-learn", "pandas", "numba", "dask", "lograd"))
    return [f"- CPU: {cpu}, {os.cpu_count()} logical cores ({usable} usable by this process)",
            f"- {platform.platform()}; Python {platform.python_version()} "
            f"({platform.python_implementation()})",
            f"- Versions: {versions}",
            f"- Load average at the start: {_load()}"]


def _version(name) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def table(header, rows) -> list:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
    return [line.format(*header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
            *(line.format(*map(str, row)) for row in rows)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (>= 10)")
    parser.add_argument("--output", help="also write the report (Markdown) to this file")
    options = parser.parse_args(argv)
    if options.runs < 10:
        parser.error("--runs: at least 10")
    lograd = lograd_command()
    cases = commands(lograd)
    lines = ["## Start-up of lograd", "", *machine(),
             f"- lograd started as: {' '.join(lograd)}", ""]
    print("\n".join(lines), flush=True)
    times = {name: [] for name, _, _ in cases}
    directory = tempfile.mkdtemp(prefix="lograd-startup-")
    try:
        for case in list(cases):  # warm-up: file cache, numba's cache (not counted)
            try:
                run_once(case[1], directory)
            except Failed as exc:  # (e.g. a module this version does not have)
                print(f"left out: {exc}", flush=True)
                cases.remove(case)
        for _ in range(options.runs):
            for name, args, _ in cases:
                with tempfile.TemporaryDirectory(dir=directory) as cwd:
                    times[name].append(run_once(args, cwd))
        loaded = {name: heavy_imports(args, directory, lograd) for name, args, _ in cases}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    rows = []
    for name, _, target in cases:
        median = statistics.median(times[name])
        verdict = "" if target is None else ("met" if median <= target else "MISSED")
        rows.append((name, f"{median:.3f}", f"{min(times[name]):.3f}",
                     f"{max(times[name]):.3f}", "" if target is None else f"<= {target:g}",
                     verdict))
    report = [*table(("command", "median s", "min s", "max s", "target", ""), rows), "",
              f"wall-clock seconds over {options.runs} runs each; load average at the end: "
              f"{_load()}", "",
              *table(("command", "heavy libraries imported"),
                     [(name, ", ".join(loaded[name]) or "none") for name, _, _ in cases])]
    tensor = loaded.get("from lograd import Tensor", [])
    wrong = [name for name in NOT_FOR_TENSOR if name in tensor]
    report += ["", "`from lograd import Tensor` loads " +
               (f"{', '.join(wrong)}: MISSED" if wrong else
                f"none of {', '.join(NOT_FOR_TENSOR)}: met")]
    print("\n".join(report))
    if options.output:
        Path(options.output).write_text("\n".join(lines + report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
