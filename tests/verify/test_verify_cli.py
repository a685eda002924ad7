"""`symloss verify` with a relation: one-argument claims "A REL B", leading
minus signs anywhere on the command line, inequalities proved or refuted
(never a false one proved), and clear errors for malformed relations."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from symloss.cli import formulas_last
from symloss.prove.numeric import evaluate
from symloss.verify.claim import parse_claim
from symloss.verify.parse import ParseError, Statement, split_relation

REPOSITORY = Path(__file__).resolve().parents[2]


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "symloss", "verify", *arguments], capture_output=True, text=True, cwd=REPOSITORY,
        timeout=120,
    )


def fails_at(statement: str, assume: list[str], counterexample: dict[str, str], *, latex: bool = False) -> bool:
    """Whether ``statement`` really fails at the counterexample (both sides re-evaluated here at 40 digits)."""
    claim = parse_claim(split_relation(statement, latex=latex), assume, latex=latex).claim
    point = {v.symbol: Fraction(counterexample[v.name]) for v in claim.scope.variables if v.name in counterexample}
    left, right = evaluate(claim.lhs, point, digits=40), evaluate(claim.rhs, point, digits=40)
    holds = {"<=": left <= right, "<": left < right, ">=": left >= right, ">": left > right}[claim.relation]
    return not holds and mpmath.isfinite(left) and mpmath.isfinite(right)


# --------------------------------------------------------------------------- splitting


@pytest.mark.parametrize(
    ("text", "latex", "expected"),
    [
        ("-x <= -x + 1", False, Statement("-x", "<=", "-x + 1")),
        ("a<b", False, Statement("a", "<", "b")),
        ("x<-1", False, Statement("x", "<", "-1")),
        ("a >= b", False, Statement("a", ">=", "b")),
        ("a>b", False, Statement("a", ">", "b")),
        ("a == b", False, Statement("a", "=", "b")),
        ("-log(p) = log(1/p)", False, Statement("-log(p)", "=", "log(1/p)")),
        (r"\frac{1}{1+e^{-z}} \le 1", True, Statement(r"\frac{1}{1+e^{-z}}", "<=", "1")),
        (r"a \leq b", True, Statement("a", "<=", "b")),
        (r"a \geq b", True, Statement("a", ">=", "b")),
        (r"a \ge b", True, Statement("a", ">=", "b")),
        (r"a < = b", True, Statement("a", "<=", "b")),
        (r"a > b", True, Statement("a", ">", "b")),
        (r"\sum_{k=1}^{K} y_k = 1", True, Statement(r"\sum_{k=1}^{K} y_k", "=", "1")),
        (r"L = x^2; L \geq 0", True, Statement("L = x^2; L", ">=", "0")),
    ],
)
def test_split_relation(text: str, latex: bool, expected: Statement) -> None:
    assert split_relation(text, latex=latex) == expected


@pytest.mark.parametrize(
    ("text", "latex", "message"),
    [
        ("a < b < c", False, "more than one relation"),
        (r"a \le b \le c", True, "more than one relation"),
        ("x =< 1", False, "unknown relation '=<'"),
        ("x != 1", False, "unknown relation '!='"),
        ("x <== 1", False, "unknown relation '<=='"),
        (r"x \neq 1", True, "unknown relation"),
        ("x + 1", False, "no relation"),
    ],
)
def test_split_relation_rejects(text: str, latex: bool, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        split_relation(text, latex=latex)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["-log(p)", "log(1/p)", "--assume", "p > 0"], ["--assume=p > 0", "--", "-log(p)", "log(1/p)"]),
        (["--", "-x", "--json", "-x"], ["--json", "--", "-x", "-x"]),
        (["--time", "5", "-x < 0", "--assume=x > 0"], ["--time=5", "--assume=x > 0", "--", "-x < 0"]),
        (["--assume", "-1 < x", "-x <= 1"], ["--assume=-1 < x", "--", "-x <= 1"]),
        (["--timeout", "-inf", "x"], ["--timeout=-inf", "--", "x"]),
    ],
)
def test_formulas_go_after_the_options(arguments: list[str], expected: list[str]) -> None:
    assert formulas_last(arguments) == expected


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("arguments", "relation"),
    [
        (["-log(p)", "log(1/p)", "--assume", "p > 0"], "="),
        (["--assume", "p > 0", "-log(p) = log(1/p)"], "="),
        (["--", "-log(p)", "log(1/p)", "--assume", "p > 0"], "="),
        (["-log(p)", "--assume", "p > 0", "log(1/p)"], "="),
        (["-log(p) == log(1/p)", "--assume=p > 0"], "="),
        (["-x <= -x + 1"], "<="),
        (["-x", "-x"], "="),
        (["--latex", r"\frac{1}{1+e^{-z}} \le 1"], "<="),
        (["sigmoid(z) < 1"], "<"),
    ],
)
def test_true_claims_are_proved_in_every_form(arguments: list[str], relation: str) -> None:
    done = cli(*arguments, "--json", "--timeout", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["verdict"] == "proved" and answer["relation"] == relation
    assert answer["counterexample"] is None and isinstance(answer["seconds"], float) and answer["method"]


def test_text_output_shows_the_relation() -> None:
    done = cli("-x <= -x + 1")
    assert done.returncode == 0, done.stderr
    claim = done.stdout.split("\n\n")[0]  # the pretty-printed claim, before the verdict
    assert "≤" in claim and "=" not in claim
    done = cli("exp(x) > x + 1")
    assert done.returncode == 1, done.stderr
    claim = done.stdout.split("\n\n")[0]
    assert ">" in claim and "=" not in claim and "counterexample: x = 0" in done.stdout


CAUCHY = "abs(r)/(c**2 + r**2/2) <= 1/(sqrt(2)*c)"


def test_the_true_cauchy_bound_is_never_refuted() -> None:
    done = cli(CAUCHY, "--assume", "c > 0", "--json")
    assert done.returncode in (0, 3), done.stdout + done.stderr
    assert json.loads(done.stdout)["verdict"] in ("proved", "unknown")


FALSE_INEQUALITIES = [
    ("abs(r)/(c**2 + r**2/2) <= 1/(2*c)", ["c > 0"], False),
    ("x**2 >= x", [], False),
    ("exp(x) > x + 1", [], False),
    ("sigmoid(z) <= 1/2", [], False),
    ("log(1 + x) >= x", ["x > -1"], False),
    ("x < x", [], False),
    (r"-\log p < \log p", ["0 < p < 1"], True),
    (r"\frac{1}{1+e^{-z}} \geq \frac{1}{2}", [], True),
]


@pytest.mark.parametrize(("statement", "assume", "latex"), FALSE_INEQUALITIES)
def test_false_inequalities_are_refuted_with_a_real_counterexample(
    statement: str, assume: list[str], latex: bool
) -> None:
    flags = [flag for a in assume for flag in ("--assume", a)] + (["--latex"] if latex else [])
    done = cli(statement, *flags, "--json", "--timeout", "10")
    assert done.returncode == 1, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["verdict"] == "refuted" and answer["counterexample"]
    assert fails_at(statement, assume, answer["counterexample"], latex=latex), answer


TRUE_INEQUALITIES = [
    ("log(1 + x) <= x", ["x > -1"]),
    ("exp(x) >= x + 1", []),
    ("x**2 + 1 > x", []),
    ("sigmoid(z) > 0", []),
    ("x**2 >= 0", []),
]


@pytest.mark.parametrize(("statement", "assume"), TRUE_INEQUALITIES)
def test_true_inequalities_are_proved_or_unknown(statement: str, assume: list[str]) -> None:
    flags = [flag for a in assume for flag in ("--assume", a)]
    done = cli(statement, *flags, "--json", "--timeout", "10")
    assert done.returncode in (0, 3), done.stdout + done.stderr
    assert json.loads(done.stdout)["verdict"] in ("proved", "unknown")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["a < b < c"], "more than one relation"),
        (["x < 1", "2"], "a relation inside one side"),
        (["x", "y < 1"], "a relation inside one side"),
        (["x =< 1"], "unknown relation '=<'"),
        (["x + 1"], "no relation"),
        (["--latex", r"a \neq b"], "unknown relation"),
        (["x <= "], "in the RHS: empty formula"),
    ],
)
def test_bad_relations_are_bad_input(arguments: list[str], message: str) -> None:
    done = cli(*arguments)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    answer = json.loads(cli(*arguments, "--json").stdout)
    assert answer["verdict"] == "error" and message in answer["message"]
