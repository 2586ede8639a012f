"""Model files and checkpoints from the command line: never a silently wrong model.

The commands run in this process (``lograd.cli.main``, what ``python -m lograd`` calls).
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd

from lograd.cli import main


def test_a_change_outside_the_old_sampled_rows_is_not_resumed(tmp_path, capsys):
    """--no-standardize: the checkpoint's data is the file's numbers as they are, so only a
    fingerprint of every row notices one changed value."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 3)).round(6)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["y"] = (X[:, 0] + rng.standard_normal(3000) > 0).astype(int)
    data, ck = tmp_path / "d.csv", tmp_path / "ck"
    frame.to_csv(data, index=False)
    command = ["train", str(data), "--target", "y", "--no-standardize", "--test-size", "0",
               "--solver", "gd", "--checkpoint", str(ck), "-o", str(tmp_path / "m.lograd")]
    assert main(command) == 0
    capsys.readouterr()
    frame.loc[1, "b"] += 1.0  # row 1: between the rows the old fingerprint sampled
    frame.to_csv(data, index=False)
    assert main(command) == 2  # (exit 0 with the old fit's model, before)
    error = capsys.readouterr().err
    assert error.startswith(f"lograd train: error: checkpoint {ck} holds the state of a "
                            "different fit (other data")


def test_predict_refuses_a_model_with_non_finite_coefficients(tmp_path, capsys, csv_files):
    train, test = csv_files
    model, bad = tmp_path / "m.lograd", tmp_path / "nan.lograd"
    assert main(["train", str(train), "-t", "label", "-q", "-o", str(model)]) == 0
    with zipfile.ZipFile(model) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    coef = np.full(json.loads(members["meta.json"])["arrays"]["coef_"]["shape"], np.nan)
    np.lib.format.write_array(buffer, coef, allow_pickle=False)
    members["coef_.npy"] = buffer.getvalue()
    with zipfile.ZipFile(bad, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    capsys.readouterr()
    assert main(["predict", str(bad), str(test), "-o", str(tmp_path / "p.csv")]) == 2
    assert capsys.readouterr().err == (f"lograd predict: error: model file {bad}: damaged "
                                       "(coef_ holds NaN or infinite values)\n")
    assert not (tmp_path / "p.csv").exists()
