"""Median time to verify one typical claim: the sigmoid + BCE gradient.

Runs ``run_verify`` (parse, build the claim, numeric check, symbolic proof in
a budgeted child process) several times in one process and prints the
median wall-clock time.  Usage, from the repository root:
``python -m benchmarks.verify_claim [RUNS]``.
"""

from __future__ import annotations

import statistics
import sys
import time

from symloss.audit import run_verify

LHS = "diff(-y*log(sigmoid(z)) - (1 - y)*log(1 - sigmoid(z)), z)"
RHS = "sigmoid(z) - y"
ASSUME = ["y in {0, 1}"]


def main(runs: int = 7) -> None:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        result = run_verify(LHS, RHS, ASSUME, timeout=20.0)
        seconds.append(time.perf_counter() - start)
        if result.exit_code != 0:
            raise SystemExit(f"expected a proof, got:\n{result.to_text()}")
    print(f"verify {LHS} = {RHS}  [{', '.join(ASSUME)}]")
    print(f"runs: {runs}  median: {statistics.median(seconds):.3f} s  min: {min(seconds):.3f} s  "
          f"max: {max(seconds):.3f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
