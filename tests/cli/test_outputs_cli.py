"""Outputs never destroy anything: not an input, not another output, not a device, FIFO or link.

Most commands here run in this process (``lograd.cli.main``, what ``python -m lograd`` calls),
so that a dozen cases cost seconds, not a minute of start-ups; one case of each kind also runs
as a real subprocess.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time

import pandas as pd
import pytest

from lograd.cli import main
from lograd.estimators import persistence
from lograd.files import json_codec


@pytest.fixture
def work(tmp_path, csv_files, monkeypatch, lograd):
    """A directory holding d.csv, t.csv and a model m.lograd trained on d.csv; the cwd."""
    train, test = csv_files
    monkeypatch.chdir(tmp_path)
    os.rename(train, tmp_path / "d.csv")
    os.rename(test, tmp_path / "t.csv")
    assert main(["train", "d.csv", "-t", "label", "-o", "m.lograd", "-q"]) == 0
    return tmp_path


def run(capsys, *args):
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def snapshot(directory):
    """Every entry of ``directory``: its kind and, for files, its bytes."""
    entries = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.islink(path):
            entries[name] = ("link", os.readlink(path))
        elif os.path.isfile(path):
            with open(path, "rb") as f:
                entries[name] = ("file", f.read())
        else:
            entries[name] = ("other", stat.S_IFMT(os.lstat(path).st_mode))
    return entries


TRAIN = ["train", "d.csv", "-t", "label"]
REFUSED = {  # name: (set-up, command, flag and path named, what it says)
    "train -o DATA": (None, [*TRAIN, "-o", "d.csv"], "--output d.csv", "input DATA"),
    "train --report DATA": (None, [*TRAIN, "--report", "d.csv"], "--report d.csv",
                            "input DATA"),
    "train -o M --report M": (None, [*TRAIN, "-o", "x.lograd", "--report", "x.lograd"],
                              "--report x.lograd", "also the --output file"),
    "train -o a hard link of DATA": (lambda: os.link("d.csv", "hard.csv"),
                                     [*TRAIN, "-o", "hard.csv"], "--output hard.csv",
                                     "input DATA d.csv"),
    "train -o a symlink to DATA": (lambda: os.symlink("d.csv", "soft.csv"),
                                   [*TRAIN, "-o", "soft.csv"], "--output soft.csv",
                                   "input DATA d.csv"),
    "train -o a file of the DATA glob": (None, ["train", "*.csv", "-t", "label", "-o", "t.csv"],
                                         "--output t.csv", "input DATA"),
    "train -o the checkpoint file": (
        lambda: os.mkdir("ck"), [*TRAIN, "--checkpoint", "ck", "-o", "ck/checkpoint.npz"],
        "--output ck/checkpoint.npz", "input --checkpoint"),
    "train -o -": (None, [*TRAIN, "-o", "-"], "--output -", "cannot go to standard output"),
    "predict -o DATA": (None, ["predict", "m.lograd", "t.csv", "-o", "t.csv"],
                        "--output t.csv", "input DATA"),
    "predict -o MODEL": (None, ["predict", "m.lograd", "t.csv", "-o", "m.lograd"],
                         "--output m.lograd", "input MODEL"),
    "evaluate --json MODEL": (None, ["evaluate", "m.lograd", "t.csv", "--json", "m.lograd"],
                              "--json m.lograd", "input MODEL"),
    "evaluate --json DATA": (None, ["evaluate", "m.lograd", "t.csv", "--json", "t.csv"],
                             "--json t.csv", "input DATA"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_an_output_that_would_destroy_a_file_is_refused_before_any_work(work, capsys, case):
    set_up, command, named, says = REFUSED[case]
    if set_up is not None:
        set_up()
    before = snapshot(work)
    status, out, err = run(capsys, *command)
    assert status == 2, (status, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and says in lines[0], err
    assert out == ""  # nothing read, trained or printed
    assert snapshot(work) == before  # nothing written, nothing replaced


def test_the_refusal_from_the_real_command_line(work, lograd, user_error):
    before = snapshot(work)
    user_error(lograd("train", "d.csv", "-t", "label", "-o", "d.csv", cwd=work),
               "--output d.csv", "input DATA")
    user_error(lograd("predict", "m.lograd", "t.csv", "-o", "m.lograd", cwd=work),
               "--output m.lograd", "input MODEL")
    assert snapshot(work) == before


class FifoReader:
    """Reads everything written into a FIFO (opened first, so a writer never blocks)."""

    def __init__(self, path):
        os.mkfifo(path)
        self.path, self.data, self.done = path, bytearray(), threading.Event()
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:  # a writer is connected, nothing to read yet
                chunk = None
            if chunk:
                self.data += chunk
            elif chunk == b"" and self.done.is_set():
                return
            else:
                time.sleep(0.002)

    def close(self) -> bytes:
        self.done.set()
        self.thread.join(10)
        os.close(self.fd)
        return bytes(self.data)


FIFO_CASES = {  # name: (command writing to 'out', check of what arrived)
    "train -o FIFO": ([*TRAIN, "-q", "-o", "out"], b"PK\x03\x04"),
    "train --report FIFO": ([*TRAIN, "-q", "-o", "m2.lograd", "--report", "out"],
                            b"<!DOCTYPE html>"),
    "predict -o FIFO": (["predict", "m.lograd", "t.csv", "-o", "out"], b"label,proba_no"),
    "evaluate --json FIFO": (["evaluate", "m.lograd", "t.csv", "--json", "out"], b"{"),
}


@pytest.mark.parametrize("case", FIFO_CASES)
def test_a_fifo_is_written_into_never_replaced(work, capsys, case):
    command, start = FIFO_CASES[case]
    reader = FifoReader(work / "out")
    try:
        status, _, err = run(capsys, *command)
    finally:
        received = reader.close()
    assert status == 0, err
    assert stat.S_ISFIFO(os.lstat(work / "out").st_mode)  # still the FIFO, not a regular file
    assert received.startswith(start), received[:100]
    if case == "train -o FIFO":  # the streamed model file is a whole, loadable model
        (work / "copy.lograd").write_bytes(received)
        assert list(persistence.load(work / "copy.lograd").classes_) == ["no", "yes"]


def test_a_symbolic_link_is_written_through(work, capsys):
    os.mkdir("models")
    os.symlink("models/current.lograd", "link.lograd")  # dangling until the first write
    for _ in range(2):  # created, then replaced: the link stays a link
        status, _, err = run(capsys, *TRAIN, "-q", "-o", "link.lograd")
        assert status == 0, err
        assert os.readlink("link.lograd") == "models/current.lograd"
        assert list(persistence.load("models/current.lograd").classes_) == ["no", "yes"]
    os.symlink("p.csv", "predictions.csv")
    assert run(capsys, "predict", "m.lograd", "t.csv", "-o", "predictions.csv")[0] == 0
    assert os.path.islink("predictions.csv") and len(pd.read_csv("p.csv")) == 60
    assert sorted(os.listdir("models")) == ["current.lograd"]  # no temporary file left


def test_evaluate_json_is_valid_json_even_for_a_non_finite_metric(work, capsys, monkeypatch):
    import lograd.report

    metrics = lograd.report.classification_metrics
    monkeypatch.setattr(lograd.report, "classification_metrics",  # (no data gives inf today)
                        lambda *args: {**metrics(*args), "log_loss": float("inf")})

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    status, out, _ = run(capsys, "evaluate", "m.lograd", "t.csv", "--json", "-")
    assert status == 0
    assert json.loads(out, parse_constant=refuse)["log_loss"] == {"__float__": "inf"}
    assert run(capsys, "evaluate", "m.lograd", "t.csv", "--json", "m.json")[0] == 0
    with open("m.json") as f:
        assert f.read() + "\n" == out  # the same JSON in the file (stdout ends the line)
    assert json_codec.loads(out)["log_loss"] == float("inf")


def test_dash_is_standard_output(work, capsys):
    status, to_stdout, _ = run(capsys, "predict", "m.lograd", "t.csv")
    assert status == 0
    status, dash, _ = run(capsys, "predict", "m.lograd", "t.csv", "-o", "-")
    assert status == 0 and dash == to_stdout and dash.startswith("label,proba_no,proba_yes\n")
    status, out, err = run(capsys, "evaluate", "m.lograd", "t.csv", "--json", "-")
    assert status == 0
    assert json.loads(out)["n"] == 60  # standard output holds the JSON alone
    assert "accuracy" in err  # the table went to standard error
    assert not os.path.exists("-")
