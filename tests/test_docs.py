"""Every code block of docs/declaring.md runs and shows what the guide says it shows.

Conventions of the guide: a ```python block whose first line is ``# some/path.py`` is
written to that path; any other python block is executed (in one namespace, cwd the
scratch folder); a ```bash block holds ``symloss`` commands (``# exit N`` gives a
non-zero exit code); a ```text block after a command is output, each of its lines
(whitespace collapsed, ``…`` matching anything, rule lines of dashes skipped) must
match a line the command printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "declaring.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
EXECUTED = {"python", "bash"}
OUTPUT = {"text"}
PATH_COMMENT = re.compile(r"#\s*([\w./-]+\.py)\s*$")
EXIT_COMMENT = re.compile(r"#\s*exit\s+(\d+)\s*$")


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(GUIDE.read_text())]


def _collapse(line: str) -> str:
    return " ".join(line.split())


def _matches(expected: str, printed: list[str]) -> bool:
    pattern = re.compile(".*".join(re.escape(part) for part in _collapse(expected).split("…")) + "$")
    return any(pattern.match(line) for line in printed)


def _run_command(line: str, cwd: Path) -> tuple[int, list[str], int]:
    exit_match = EXIT_COMMENT.search(line)
    expected_exit = int(exit_match.group(1)) if exit_match else 0
    words = line.split("#", 1)[0].split()
    assert words[0] == "symloss", f"the guide's shell blocks hold symloss commands only: {line!r}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "symloss", *words[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    printed = [_collapse(x) for x in (done.stdout + done.stderr).splitlines()]
    return done.returncode, printed, expected_exit


def test_every_block_is_run_or_output() -> None:
    kinds = [kind for kind, _ in blocks()]
    assert kinds, "the guide has no code blocks"
    assert set(kinds) <= EXECUTED | OUTPUT, f"blocks neither run nor marked as output: {set(kinds) - EXECUTED - OUTPUT}"
    for kind, body in blocks():
        if kind == "text":
            continue
        assert body.strip(), "an empty code block"


def test_the_guide_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "guide"}
    printed: list[str] | None = None
    counts = {"file": 0, "python": 0, "command": 0, "output": 0}
    try:
        for kind, body in blocks():
            if kind == "python":
                first = body.splitlines()[0]
                path = PATH_COMMENT.fullmatch(first.strip())
                if path:
                    target = tmp_path / path.group(1)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(body)
                    counts["file"] += 1
                else:
                    exec(compile(body, str(GUIDE), "exec"), namespace)  # the guide's own code, not a user string
                    counts["python"] += 1
                printed = None
            elif kind == "bash":
                printed = []
                for line in filter(str.strip, body.splitlines()):
                    code, output, expected_exit = _run_command(line, tmp_path)
                    assert code == expected_exit, f"{line!r} exited {code}:\n" + "\n".join(output)
                    printed.extend(output)
                    counts["command"] += 1
            else:
                assert printed is not None, f"an output block follows no command:\n{body}"
                for expected in body.splitlines():
                    if not expected.strip() or set(expected.strip()) <= {"-", " "}:
                        continue
                    assert _matches(expected, printed), f"not printed: {expected!r}\nprinted:\n" + "\n".join(printed)
                counts["output"] += 1
    finally:
        sys.modules.pop("kernels", None)  # the guide imports the package it generated
        sys.path[:] = [p for p in sys.path if p != "."]
    assert min(counts.values()) > 0, counts


def test_the_false_claim_is_refuted_with_a_counterexample(tmp_path: Path) -> None:
    """The guide's deliberately false claim: refuted, exit 1, with a point of the domain."""

    (draft,) = [body for kind, body in blocks() if kind == "python" and body.startswith("# my_drafts/")]
    target = tmp_path / "my_drafts" / "rayleigh_draft.py"
    target.parent.mkdir()
    target.write_text(draft)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "symloss", "prove", "--catalog", "my_drafts", "--json", "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)
    assert result["verdict"] == "refuted"
    assert set(result["counterexample"]) == {"y", "z"}  # a point of the domain: a value for each variable
