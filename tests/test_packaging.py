"""What pyproject.toml promises is there: package data, the Python versions."""

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize("pattern", PYPROJECT["tool"]["setuptools"]["package-data"]["lograd"])
def test_every_package_data_pattern_names_files(pattern):
    assert list((ROOT / "src" / "lograd").glob(pattern)), f"no file matches {pattern!r}"


def test_py_typed_marks_the_package_as_typed():
    import lograd

    assert (Path(lograd.__file__).parent / "py.typed").is_file()  # PEP 561
