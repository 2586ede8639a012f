"""The notebooks in examples/ run top to bottom on a real Jupyter kernel, and are committed
without outputs."""

from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
CAT = EXAMPLES / "03_cat_classifier.ipynb"


def run(path, cwd):
    """Execute the notebook in ``cwd``; return its code cells' text outputs joined."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(str(output.get("data", {}).get("text/plain", "")))
            texts.append(str(output.get("data", {}).get("text/html", "")))
    return notebook, "\n".join(texts)


def test_there_are_notebooks_and_they_are_committed_without_outputs():
    assert {p.name for p in NOTEBOOKS} >= {"01_lecture_one_example.ipynb",
                                           "02_lecture_m_examples.ipynb", CAT.name,
                                           "04_two_layer_network_flower.ipynb"}
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("name", ["01_lecture_one_example.ipynb", "02_lecture_m_examples.ipynb"])
def test_lecture_notebook_runs(name, tmp_path):
    notebook, text = run(EXAMPLES / name, tmp_path)
    html = [output for cell in notebook.cells for output in cell.get("outputs", [])
            if "text/html" in output.get("data", {})]
    assert any("<iframe srcdoc=" in str(o["data"]["text/html"]) for o in html)  # trace.show()
    assert any("<table>" in str(o["data"]["text/html"]) for o in html)  # the trace's table
    if name.startswith("01"):
        svgs = [o for cell in notebook.cells for o in cell.get("outputs", [])
                if "image/svg+xml" in o.get("data", {})]
        assert len(svgs) == 2  # trace.graph and the Tensor of our own


def test_cat_notebook_skips_cleanly_without_the_data(tmp_path, monkeypatch):
    monkeypatch.delenv("LOGRAD_CAT_DATA", raising=False)
    _, text = run(CAT, tmp_path)
    assert "skipping: the course's data files are not there" in text
    assert "accuracy" not in text


def write_course_files(folder, n_train=60, n_test=20, seed=0):
    """Files laid out as the course's (datasets train_set_x/y, test_set_x/y, list_classes),
    with made-up pictures: "cats" are redder in the middle."""
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(seed)

    def pictures(m):
        labels = rng.integers(0, 2, size=m).astype(np.int64)
        images = rng.integers(0, 200, size=(m, 64, 64, 3)).astype(np.uint8)
        images[labels == 1, 16:48, 16:48, 0] += 55
        return images, labels

    classes = np.array([b"non-cat", b"cat"])
    for split, m in (("train", n_train), ("test", n_test)):
        images, labels = pictures(m)
        with h5py.File(folder / f"{split}_catvnoncat.h5", "w") as f:
            f[f"{split}_set_x"], f[f"{split}_set_y"], f["list_classes"] = images, labels, classes


def test_cat_notebook_trains_on_files_in_the_courses_format(tmp_path, monkeypatch):
    data = tmp_path / "cats"
    data.mkdir()
    write_course_files(data)
    monkeypatch.setenv("LOGRAD_CAT_DATA", str(data))
    _, text = run(CAT, tmp_path)
    assert "skipping" not in text
    assert "X_train: (60, 12288)" in text
    train = float(text.split("train accuracy: ")[1].split("%")[0])
    assert train == 100.0  # separable made-up pictures; the notebook asserts the course's steps


def test_flower_notebook_trains_the_courses_network(tmp_path):
    _, text = run(EXAMPLES / "04_two_layer_network_flower.ipynb", tmp_path)
    accuracy = float(text.split("training accuracy: ")[1].split("%")[0])
    assert accuracy > 85  # the course's network separates most petals
    difference = float(text.split("weights: ")[1].split()[0])
    assert difference < 1e-9  # lograd's fit is the course's loop written by hand
