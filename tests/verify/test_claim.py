"""Tests for symloss.verify.claim: the timeout of `verify` is a finite number of seconds
up to MAX_TIMEOUT, the whole command (reading the claim included) keeps to it, and no
input (random text, random timeouts) ends in a traceback."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symloss.cli import main
from symloss.verify.claim import MAX_TIMEOUT, check_timeout, run_verify

REPOSITORY = Path(__file__).resolve().parents[2]
SLOW_TO_READ = "max(" + ", ".join(f"x^{n}" for n in range(1, 200)) + ")"  # SymPy compares the arguments pairwise


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "symloss", "verify", *arguments], capture_output=True, text=True,
                          cwd=REPOSITORY, timeout=120)


# --------------------------------------------------------------------------- the timeout


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -math.inf, 1e308, 1e9, MAX_TIMEOUT * 1.001, 0, 0.0, -1,
                                     True, "5", None])
def test_a_timeout_outside_the_range_is_a_value_error(seconds: object) -> None:
    with pytest.raises(ValueError, match="timeout must be a number of seconds"):
        check_timeout(seconds)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be a number of seconds"):
        run_verify("x", "x", timeout=seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [1e-3, 1, 20.0, MAX_TIMEOUT])
def test_a_timeout_in_the_range_is_taken(seconds: float) -> None:
    assert check_timeout(seconds) == seconds


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e308", "1e9", "3600.5", "0", "-1", "abc", ""])
def test_cli_a_bad_timeout_exits_2_with_one_clear_line(text: str) -> None:
    done = cli("--timeout", text, "x", "x")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "argument --timeout:" in done.stderr and ("seconds in (0, 3600]" in done.stderr
                                                     or "not a number of seconds" in done.stderr), done.stderr


def test_cli_the_largest_timeout_is_accepted() -> None:
    done = cli("--timeout", "3600", "--json", "x^2 >= 0")
    assert done.returncode == 0 and json.loads(done.stdout)["verdict"] == "proved", done.stderr


# --------------------------------------------------------------------------- the budget covers reading the claim


def test_reading_the_claim_is_within_the_budget() -> None:
    start = time.perf_counter()
    result = run_verify(SLOW_TO_READ, "x^199", timeout=2)
    elapsed = time.perf_counter() - start
    assert elapsed < 2 + 3, elapsed
    assert result.verdict is not None and result.verdict.status == "unknown" and result.exit_code == 3
    assert result.verdict.method == "timed out after 2 s while reading the claim"
    assert result.lhs is None and result.to_json()["lhs"] is None and result.to_json()["relation"] is None
    assert result.to_text().startswith(f"{SLOW_TO_READ} = x^199\n"), result.to_text()


def test_cli_the_slow_claim_of_the_issue_answers_within_the_timeout() -> None:
    start = time.perf_counter()
    done = cli(SLOW_TO_READ, "x^199", "--timeout", "5", "--json")
    elapsed = time.perf_counter() - start
    assert elapsed < 5 + 10, elapsed  # the budget, plus starting Python and loading the catalog
    answer = json.loads(done.stdout)
    assert done.returncode == 3 and answer["verdict"] == "unknown" and "timed out after 5 s" in answer["method"]


def test_the_time_reported_counts_reading_and_proving() -> None:
    result = run_verify("x^2 >= 0", timeout=20)
    assert result.verdict is not None and result.verdict.status == "proved"
    assert result.lhs is not None and result.relation == ">="


def test_a_false_claim_is_still_refuted_through_the_budgeted_reader() -> None:
    result = run_verify("log(x*y)", "log(x) + log(y)", timeout=20)
    assert result.verdict is not None and result.verdict.status == "refuted" and result.exit_code == 1


def test_a_parse_error_still_names_the_input_at_fault() -> None:
    result = run_verify("x +", "x", ["x > 0"], timeout=5)
    assert result.exit_code == 2 and result.error.startswith("in the LHS:"), result.error
    result = run_verify("x", "x", ["x >> 0"], timeout=5)
    assert result.exit_code == 2 and result.error.startswith("in the assumption 'x >> 0':"), result.error


# --------------------------------------------------------------------------- no input ends in a traceback

FORMULA_PIECES = ["x", "y", "1", "0", "-", "+", "*", "/", "^", "(", ")", "<=", "=", "<", ">", "log", "exp", "max",
                  "sigmoid", "\\frac{", "}", "{", ",", " ", "nan", "inf", "1e400", "__import__", "'", "\"", "[", "]"]


def _long(text: str) -> bool:
    """A valid timeout of more than 3 s (kept out of the random runs to keep them short)."""
    try:
        return 3 < float(text) <= MAX_TIMEOUT
    except ValueError:
        return False


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    claim=st.one_of(st.text(max_size=40), st.lists(st.sampled_from(FORMULA_PIECES), max_size=12).map("".join)),
    rhs=st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["x", "0", "-x"])),
    timeout=st.one_of(st.sampled_from(["nan", "inf", "-1", "0", "1e308", "1e9", "abc", "2", "0.5"]),
                      st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=6)
                      ).filter(lambda text: not _long(text)),
    latex=st.booleans(),
)
def test_random_claims_and_timeouts_exit_0_1_2_or_3_never_a_traceback(
    capsys: pytest.CaptureFixture[str], claim: str, rhs: str | None, timeout: str, latex: bool
) -> None:
    arguments = ["verify", "--timeout", timeout, *(["--latex"] if latex else []), "--", claim,
                 *([] if rhs is None else [rhs])]
    try:
        code = main(arguments)
    except SystemExit as stop:  # argparse's exit on a bad argument
        code = stop.code
    captured = capsys.readouterr()
    assert code in (0, 1, 2, 3), (arguments, code)
    assert "Traceback" not in captured.err + captured.out, arguments
