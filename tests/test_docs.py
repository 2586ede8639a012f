"""README.md and docs/*.md say what is true of this checkout.

- every relative link points at a file or folder that exists, and every ``#anchor`` at a heading
  of the target (GitHub's slugs);
- every ``lograd.name`` they mention imports, and every repository path they name exists;
- the README opens with the code block of two one-line commands that ``.ci/run`` takes apart;
- the README's Python examples run, in order, and each ``print(...)  # expected`` prints what its
  comment says (the text before the first ": " of the comment, or all of it; a comment starting
  with "..." is an excerpt and is not compared); the "Train on your own file" transcript runs
  and prints what it shows. Numbers compare to a relative 1e-3 (absolute 1e-9 for the tiny
  differences), so a wrong derivative or a changed default fails, while the last digits of a
  float may differ between machines.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import math
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
COMMENT = re.compile(r"<!--.*?-->", re.S)
INLINE_CODE = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
NAME = re.compile(r"(?<![\w./-])lograd(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(r"`((?:src|tests|bench|examples|docs|\.ci)/[\w./*-]*)`")
# paths the docs name as things a user makes or a command writes, not files of the repository
NOT_IN_REPO = {"examples/data/", "bench/results/run.md", "bench/results/dask.md"}


def _prose(text: str) -> str:
    """The text without HTML comments and fenced code blocks."""
    return FENCE.sub("", COMMENT.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: code marks dropped, lower case, punctuation removed
    (letters, digits, '_', '-' and spaces stay), spaces to hyphens."""
    text = heading.replace("`", "").strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in "_- ")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for line in FENCE.sub("", COMMENT.sub("", path.read_text())).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def links(path: Path) -> list[str]:
    return LINK.findall(INLINE_CODE.sub("``", _prose(path.read_text())))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
        elif anchor and resolved.suffix != ".md":
            broken.append(f"{target}: an anchor into a file that is not Markdown")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_the_anchor_rule_is_githubs():
    assert _slug("Larger than memory / on a cluster") == "larger-than-memory--on-a-cluster"
    assert _slug("Checkpoints: surviving a crash or `kill -9`") == (
        "checkpoints-surviving-a-crash-or-kill--9")
    assert _slug("Compiled steps: `lograd.compile_grad`") == "compiled-steps-logradcompile_grad"
    assert _slug("3. The lecture's graph: one step") == "3-the-lectures-graph-one-step"


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                value = getattr(value, attribute)
        except AttributeError:
            return False
        return True
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_lograd_name_and_repository_path_exists(page):
    text = COMMENT.sub("", page.read_text())
    missing = sorted({name for name in NAME.findall(text) if not _resolves(name)})
    assert not missing, f"{page.name} names what lograd does not have: {missing}"
    absent = sorted({p for p in PATH.findall(text)
                     if p not in NOT_IN_REPO and not list(ROOT.glob(p.rstrip("/")))})
    assert not absent, f"{page.name} names paths that do not exist: {absent}"


def test_readme_opens_with_the_two_commands_that_ci_runs():
    lines = README.read_text().splitlines()
    assert lines[0] == "```", "the README must open with a code block"
    block = lines[1:lines.index("```", 1)]
    assert len(block) == 2, "the first code block holds exactly two one-line commands"
    assert block[0].endswith(".venv/bin/lograd train")
    assert block[1].endswith(".venv/bin/python -m pytest -q")  # .ci/run runs this line


# -- the README's examples ----------------------------------------------------------------------
TOKEN = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[A-Za-z_]\w*|\S")


def _same(shown: str, printed: str) -> bool:
    """Equal token by token, numbers within a relative 1e-3 (absolute 1e-9)."""
    a, b = TOKEN.findall(shown), TOKEN.findall(printed)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        try:
            if not math.isclose(float(x), float(y), rel_tol=1e-3, abs_tol=1e-9):
                return False
        except ValueError:
            if x != y:
                return False
    return True


def _blocks(kind: str, text: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", text, re.M | re.S)


def test_the_readme_python_examples_run_and_print_what_they_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python", README.read_text())
    assert len(blocks) >= 5
    wrong = []
    for number, source in enumerate(blocks, 1):
        comments = {token.start[0]: token.string[1:].strip()
                    for token in tokenize.generate_tokens(io.StringIO(source).readline)
                    if token.type == tokenize.COMMENT}
        namespace = {"__name__": f"readme_example_{number}"}  # each block on its own
        for statement in ast.parse(source).body:
            code = compile(ast.Module([statement], []), f"README python block {number}", "exec")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
            is_print = (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
                        and getattr(statement.value.func, "id", None) == "print")
            comment = comments.get(statement.end_lineno)
            if not is_print or comment is None or comment.startswith("..."):
                continue
            shown = comment.split(": ", 1)[0]
            if not _same(shown, out.getvalue().strip()):
                wrong.append(f"block {number}, line {statement.end_lineno}: the README shows "
                             f"{shown!r}, the code prints {out.getvalue().strip()!r}")
    assert not wrong, "\n".join(wrong)


def _transcript() -> list[tuple[str, str]]:
    """The "Train on your own file" console block: (command, the output shown under it)."""
    section = README.read_text().split("## Train on your own file", 1)[1]
    block = _blocks("console", section)[0]
    steps = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append([line[2:], []])
        else:
            steps[-1][1].append(line)
    return [(command, "\n".join(shown)) for command, shown in steps]


def test_the_readme_transcript_runs_and_prints_what_it_shows(tmp_path):
    steps = _transcript()
    assert any(command.startswith("lograd train") for command, _ in steps)
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                 os.environ.get("PATH", "")]))
    for command, shown in steps:
        if command.startswith(". .venv/bin/activate"):
            continue  # the test runs inside that environment already
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command!r} failed: {done.stderr}"
        if not shown:
            continue
        progress = re.compile(r"^iteration \d+/\d+ ")  # plain progress lines on stderr
        printed = done.stdout + "".join(line for line in done.stderr.splitlines(keepends=True)
                                        if not progress.match(line))
        shown_lines, printed_lines = shown.splitlines(), printed.strip("\n").splitlines()
        assert len(shown_lines) == len(printed_lines), (
            f"{command!r} prints\n{printed}\nthe README shows\n{shown}")
        for a, b in zip(shown_lines, printed_lines):
            assert _same(a, b), f"{command!r}: the README shows {a!r}, it printed {b!r}"


def test_the_readme_explain_excerpt_is_what_lograd_explain_prints():
    """The lecture section's console block: its lines (between the "..." that mark what is left
    out) appear in that order in the command's output."""
    section = README.read_text().split("## The lecture, checked by the machine", 1)[1]
    block = _blocks("console", section)[0].splitlines()
    assert block[0].startswith("$ lograd explain")
    done = subprocess.run([sys.executable, "-m", "lograd", *block[0].split()[2:]],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    shown = [line for line in block[1:] if line != "..."]
    assert len(shown) >= 8
    position = 0
    for line in shown:
        while position < len(printed) and not _same(line, printed[position]):
            position += 1
        assert position < len(printed), f"'lograd explain' does not print {line!r} (in order)"
        position += 1
