"""What each start-up imports, in a fresh interpreter: the engine loads no scikit-learn, numba,
pandas, Dask or matplotlib; --help loads no third-party library at all; a command loads what it
uses. (The times are bench/bench_startup.py's: a test asserts behaviour, never a duration.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "pandas", "pyarrow", "sklearn", "numba", "dask", "distributed",
         "matplotlib", "tqdm")


def loaded(code: str, cwd=None) -> set:
    """The heavy top-level packages in sys.modules after running ``code``."""
    report = (f"\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in "
              f"sys.modules}} & set({HEAVY!r}))))")
    result = subprocess.run([sys.executable, "-c", code + report], capture_output=True,
                            text=True, timeout=300, cwd=cwd,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"})
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def command(*argv) -> str:
    """Code running ``lograd ARGV`` (its output to /dev/null) as the console script does."""
    return ("import contextlib, os\nfrom lograd.cli import main\n"
            "with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null), "
            "contextlib.redirect_stderr(null):\n"
            f"    try:\n        status = main({list(argv)!r})\n"
            "    except SystemExit as exc:\n        status = exc.code\n"
            "assert status == 0, status")


def test_the_engine_loads_no_heavy_library():
    modules = loaded("from lograd import Tensor\n"
                     "Tensor([1.0, 2.0], requires_grad=True).sum().backward()")
    assert not modules & {"sklearn", "numba", "pandas", "dask", "matplotlib"}, modules
    assert "numpy" in modules  # (it did load the engine)


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["train", "--help"],
                                  ["predict", "--help"], ["evaluate", "--help"],
                                  ["explain", "--help"]])
def test_help_loads_no_third_party_library(argv):
    assert loaded(command(*argv)) == set()


def test_explain_loads_the_engine_only():
    modules = loaded(command("explain"))
    assert {"numpy", "scipy"} <= modules
    assert not modules & {"pandas", "sklearn", "numba", "dask", "matplotlib", "tqdm"}, modules


def test_train_loads_no_dask_matplotlib_or_tqdm_when_it_needs_none(tmp_path):
    modules = loaded(command("train", "-o", "m.lograd"), cwd=tmp_path)
    assert {"sklearn", "numba"} <= modules and (tmp_path / "m.lograd").is_file()
    assert not modules & {"dask", "distributed", "matplotlib", "tqdm"}, modules
