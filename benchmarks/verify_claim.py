"""Median time to verify one typical claim: the sigmoid + BCE gradient.

Times the command a user types,
``symloss verify "diff(bce_with_logits(z, y), z)" "sigmoid(z) - y" --assume "y in {0, 1}"``
(a fresh process each run: interpreter start, imports, parse, numeric check,
budgeted symbolic proof), the same with ``pos_weight`` passed as 1 (the form
that is proved; left out, ``pos_weight`` is a free parameter and the claim is
refuted), and ``run_verify`` in one warm process.  Usage, from the repository
root: ``python -m benchmarks.verify_claim [RUNS]`` (default 7).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from symloss.declare.catalog import load_catalog
from symloss.verify.claim import run_verify

RHS = "sigmoid(z) - y"
ASSUME = "y in {0, 1}"
COMMANDS = {
    "as in the issue (pos_weight free)": ("diff(bce_with_logits(z, y), z)", 1),
    "pos_weight = 1": ("diff(bce_with_logits(z, y, 1), z)", 0),
}


def timed(task: Callable[[], int], runs: int, expected: int) -> list[float]:
    """Wall-clock seconds of ``runs`` calls of ``task``, each checked for its exit code."""
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        code = task()
        seconds.append(time.perf_counter() - start)
        if code != expected:
            raise SystemExit(f"expected exit code {expected}, got {code}")
    return seconds


def command(lhs: str) -> Callable[[], int]:
    argv: Sequence[str] = [sys.executable, "-m", "symloss", "verify", lhs, RHS, "--assume", ASSUME]
    return lambda: subprocess.run(argv, capture_output=True, check=False).returncode


def report(label: str, seconds: list[float]) -> None:
    print(f"{label:<48} runs: {len(seconds)}  median: {statistics.median(seconds):.3f} s  "
          f"min: {min(seconds):.3f} s  max: {max(seconds):.3f} s")


def main(runs: int = 7) -> None:
    for label, (lhs, code) in COMMANDS.items():
        report(f"symloss verify, {label}", timed(command(lhs), runs, code))
    lhs, catalog = COMMANDS["pos_weight = 1"][0], load_catalog()
    report("run_verify in one process, pos_weight = 1",
           timed(lambda: run_verify(lhs, RHS, [ASSUME], timeout=20.0, catalog=catalog).exit_code, runs, 0))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
