"""Tests for symloss.verify.claim: soundness of `verify` on false claims (never a false
claim proved; every counterexample checked here by hand), hostile input, the command's
exit codes and output; the timeout is a finite number of seconds up to MAX_TIMEOUT, the
whole command (reading the claim included) keeps to it, and no input (random text,
random timeouts) ends in a traceback."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symloss.cli import main
from symloss.declare.loss import Claim
from symloss.prove.numeric import evaluate
from symloss.verify.claim import MAX_TIMEOUT, check_timeout, parse_identity, run_verify
from symloss.verify.parse import parse_many

REPOSITORY = Path(__file__).resolve().parents[2]
SLOW_TO_READ = "max(" + ", ".join(f"x^{n}" for n in range(1, 200)) + ")"  # SymPy compares the arguments pairwise


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "symloss", "verify", *arguments], capture_output=True, text=True,
                          cwd=REPOSITORY, timeout=120)


def separates(claim: Claim, counterexample: dict[str, str]) -> bool:
    """Whether the two sides really differ at the counterexample (re-evaluated here)."""
    point: dict[object, object] = {}
    for v in claim.scope.variables:
        if v.name in counterexample:
            value = counterexample[v.name]
            point[v.symbol] = (
                tuple(Fraction(t) for t in value.strip("[]").split(",")) if v.is_vector else Fraction(value)
            )
    sides = []
    for side in (claim.lhs, claim.rhs):
        try:
            sides.append(evaluate(side, point, digits=40))
        except (ValueError, ZeroDivisionError, TypeError):
            sides.append(None)
    left, right = sides
    if left is None or right is None:
        return (left is None) != (right is None)
    return abs(left - right) > mpmath.mpf(10) ** -15 * max(1, abs(left), abs(right))


# ---------------------------------------------------------------- soundness

FALSE_CLAIMS: list[tuple[str, str, list[str]]] = [
    ("diff(sigmoid(z), z)", "sigmoid(z)**2", []),
    ("diff(log(x), x)", "x", ["x > 0"]),
    ("log(x*y)", "log(x) + log(y)", []),
    ("sqrt(x**2)", "x", []),
    ("abs(x)", "x", []),
    ("exp(x + y)", "exp(x) + exp(y)", []),
    ("sigmoid(-z)", "sigmoid(z)", []),
    ("1 - sigmoid(z)", "sigmoid(z)", []),
    ("softplus(z)", "log(1 + exp(-z))", []),
    ("softplus(z) - softplus(-z)", "-z", []),
    ("tanh(x)", "2*sigmoid(x) - 1", []),
    ("diff(tanh(x), x)", "1 - tanh(x)", []),
    ("cosh(x)^2 + sinh(x)^2", "1", []),
    ("max(x, y)", "x + y - min(x, y) + 1", []),
    ("max(0, x)", "x", []),
    ("diff(-y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z)), z)", "y - sigmoid(z)", ["y in {0, 1}"]),
    ("diff(-log(sigmoid(z)), z)", "sigmoid(z)", []),
    ("(x + y)^2", "x^2 + y^2", []),
    ("x/y", "y/x", ["x > 0", "y > 0"]),
    ("log(x^2)", "2*log(x)", []),
    ("log(exp(x))", "x + 1", []),
    ("diff(x^3, x, 2)", "3*x", []),
    ("diff(x^2*y^2, x, y)", "2*x*y", []),
    ("sign(x)*abs(x)", "abs(x)", []),
    ("y^2", "1", ["y in {0, 1}"]),
    ("y^2", "y", ["y in {-1, 1}"]),
    ("y*(1 - y)", "0", ["y in {0, 1, 2}"]),
    ("p*(1 - p)", "1/4", ["0 < p < 1"]),
    ("log(p) + log(1 - p)", "log(1 - p^2)", ["0 < p < 1"]),
    ("-y*log(p) - (1 - y)*log(1 - p)", "-log(p)", ["y in {0, 1}", "0 < p < 1"]),
    ("sum(y[k], k, 1, K)", "K", []),
    ("sum(x[k]^2, k, 1, K)", "sum(x[k], k, 1, K)^2", []),
    ("diff(log(sum(exp(z[k]), k, 1, K)), z[i])", "exp(z[i])", []),
    ("diff(sum(z[k]^2, k, 1, K), z[i])", "z[i]", []),
    ("(1 - p)^gamma*log(p)", "log(p)", ["gamma >= 0", "0 < p < 1"]),
    ("max(0, 1 - y*z)", "1 - y*z", ["y in {-1, 1}"]),
    ("min(abs(x), 1)", "abs(x)", []),
    ("log1p(x)", "log(x) + 1", ["x > 0"]),
    ("expm1(x)", "exp(x - 1)", []),
    ("sqrt(x*y)", "sqrt(x)*sqrt(y)", []),
    ("1/K", "1/2", ["K integer >= 2"]),
    ("diff(softplus(z), z)", "sigmoid(-z)", []),
    ("x - x*1e-8", "x", []),
    ("exp(x)", "1 + x + x^2/2", []),
    ("sigmoid(z)*(1 - sigmoid(z))", "1/4", []),
    ("diff(sigmoid(z), z, 2)", "sigmoid(z)*(1 - sigmoid(z))", []),
]

FALSE_LATEX_CLAIMS: list[tuple[str, str, list[str]]] = [
    (r"\frac{\partial}{\partial z}\sigma(z)", r"\sigma(z)^2", []),
    (r"\frac{1}{1 + e^{-z}}", r"\frac{1}{1 + e^{z}}", []),
    (r"\log(xy)", r"\log x + \log y", []),
    (r"L = -y\log\sigma(z) - (1-y)\log(1-\sigma(z)); \frac{\partial L}{\partial z}", r"y - \sigma(z)",
     ["y in {0, 1}"]),
    (r"-\sum_{k=1}^{K} y_k \log \hat{y}_k", r"-\log \hat{y}_1", ["y_hat in simplex", "y in simplex"]),
    (r"\max(0, 1 - y z)", r"1 - yz", ["y in {-1, 1}"]),
    (r"|x|", r"x", []),
    (r"\sqrt{x^2}", r"x", []),
    (r"(1 - \hat{p})^\gamma", r"1", ["gamma >= 0", "0 < p_hat < 1"]),
    (r"\tanh(x)", r"2\sigma(x) - 1", []),
    (r"\frac{e^{z_i}}{\sum_{k=1}^{K} e^{z_k}}", r"\frac{1}{K}", []),
    (r"\frac{\partial^2}{\partial z^2} \log(1 + e^{z})", r"\sigma(z)", []),
    (r"\cosh(x) - \sinh(x)", r"e^{x}", []),
]


@pytest.mark.parametrize(("lhs", "rhs", "assume"), FALSE_CLAIMS)
def test_false_claims_are_refuted_with_a_real_counterexample(lhs: str, rhs: str, assume: list[str]) -> None:
    result = run_verify(lhs, rhs, assume, timeout=10)
    assert result.verdict is not None and result.verdict.status == "refuted", result.to_text()
    assert result.exit_code == 1
    claim = parse_identity(lhs, rhs, assume).claim
    assert separates(claim, dict(result.verdict.counterexample or {})), result.to_text()


@pytest.mark.parametrize(("lhs", "rhs", "assume"), FALSE_LATEX_CLAIMS)
def test_false_latex_claims_are_refuted_with_a_real_counterexample(lhs: str, rhs: str, assume: list[str]) -> None:
    result = run_verify(lhs, rhs, assume, latex=True, timeout=10)
    assert result.verdict is not None and result.verdict.status == "refuted", result.to_text()
    claim = parse_identity(lhs, rhs, assume, latex=True).claim
    assert separates(claim, dict(result.verdict.counterexample or {})), result.to_text()


@pytest.mark.parametrize(
    ("lhs", "rhs", "assume", "latex"),
    [
        ("diff(-y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z)), z)", "sigmoid(z) - y", [], False),
        ("diff(sigmoid(z), z)", "sigmoid(z)*(1 - sigmoid(z))", [], False),
        ("log(x*y)", "log(x) + log(y)", ["x > 0", "y > 0"], False),
        ("max(0, 1 - y*z)", "max(0, 1 - y*z)", ["y in {-1, 1}"], False),
        (r"L = -y\log\sigma(z) - (1-y)\log(1-\sigma(z)); \frac{\partial L}{\partial z}", r"\sigma(z) - y", [], True),
        (r"\frac{1}{1 + e^{-z}}", r"\sigma(z)", [], True),
    ],
)
def test_true_claims_are_proved(lhs: str, rhs: str, assume: list[str], latex: bool) -> None:
    result = run_verify(lhs, rhs, assume, latex=latex, timeout=20)
    assert result.verdict is not None and result.verdict.status == "proved", result.to_text()
    assert result.exit_code == 0


def test_json_has_the_documented_keys() -> None:
    refuted = run_verify("abs(x)", "x", timeout=10).to_json()
    assert set(refuted) == {"verdict", "method", "counterexample", "seconds", "lhs", "relation", "rhs"}
    assert refuted["verdict"] == "refuted" and refuted["lhs"] == "Abs(x)"
    assert all(isinstance(v, str) for v in refuted["counterexample"].values())
    proved = run_verify("x + x", "2*x", timeout=10).to_json()
    assert proved["verdict"] == "proved" and proved["counterexample"] is None


def test_text_output_shows_claim_verdict_method_and_time() -> None:
    shown = run_verify("abs(x)", "x", ["x real"], timeout=10).to_text()
    for part in ("│x│ = x", "verdict:   refuted", "counterexample: x = ", "time:"):
        assert part in shown


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("lhs", "rhs", "assume", "where", "column"),
    [
        ("x + foo(y)", "x", [], "LHS", 5),
        ("x", "x +", [], "RHS", 4),
        ("x", "x", ["x >< 0"], "assumption", 4),
        ("x", "x", ["x is big"], "assumption", 3),
    ],
)
def test_bad_input_exits_2_pointing_at_the_position(
    lhs: str, rhs: str, assume: list[str], where: str, column: int
) -> None:
    result = run_verify(lhs, rhs, assume)
    assert result.exit_code == 2 and result.verdict is None
    assert where in result.error and f"(column {column})" in result.error
    assert result.to_json()["verdict"] == "error"


def payloads(marker: Path) -> list[str]:
    return [
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w').write('x')",
        f"exec(\"open('{marker}', 'w')\")",
        f"().__class__.__base__.__subclasses__()[0]('{marker}')",
        f"(lambda: open('{marker}', 'w'))()",
        f"[open('{marker}', 'w') for _ in [1]]",
        "x.__class__",
        "__builtins__",
        "9**9**9**9",
    ]


def test_payloads_exit_2_without_side_effects(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for payload in payloads(marker):
        for as_latex in (False, True):
            result = run_verify(payload, "1", latex=as_latex)
            assert result.exit_code == 2, payload
    assert not marker.exists()


# ---------------------------------------------------------------- the command line


def test_cli_verify_refutes_a_false_claim_with_json() -> None:
    done = cli("diff(sigmoid(z), z)", "sigmoid(z)**2", "--json", "--timeout", "10")
    assert done.returncode == 1, done.stderr
    answer = json.loads(done.stdout)
    assert answer["verdict"] == "refuted" and "z" in answer["counterexample"]


def test_cli_verify_proves_with_latex_and_assumptions() -> None:
    done = cli(r"\log(xy)", r"\log x + \log y", "--latex", "--assume", "x > 0", "--assume", "y > 0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "proved" in done.stdout


@pytest.mark.parametrize("false", [("abs(x)", "x"), ("log(exp(x))", "x + 1"), ("sigmoid(-z)", "sigmoid(z)")])
def test_cli_verify_never_proves_false_claims(false: tuple[str, str]) -> None:
    done = cli(*false, "--timeout", "10")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refuted" in done.stdout and "counterexample" in done.stdout


def test_cli_payloads_exit_2_without_side_effects(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for payload in payloads(marker)[:4]:
        done = cli(payload, "1")
        assert done.returncode == 2, payload
        assert "column" in done.stdout + done.stderr
    assert not marker.exists()


# ---------------------------------------------------------------- soundness through the command line
#
# Each false claim goes through the `symloss verify` command (argument parsing,
# parsing, prover, JSON output, exit code) and its counterexample is checked
# here, independently of the engine: both sides written again by hand in mpmath
# and evaluated at 50 digits.

mp = mpmath.mp


def _sig(t: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-t))


def _softplus(t: mpmath.mpf) -> mpmath.mpf:
    return mpmath.log(1 + mpmath.exp(t))


def _d(f: object, t: mpmath.mpf, n: int = 1) -> mpmath.mpf:
    return mpmath.diff(f, t, n)


def _lse(v: list[mpmath.mpf]) -> mpmath.mpf:
    return mpmath.log(mpmath.fsum(mpmath.exp(t) for t in v))


class Point:
    """A counterexample as numbers: scalars as mpf, vectors as lists (1-based via at())."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = {name: self._number(text) for name, text in values.items()}

    @staticmethod
    def _number(text: str) -> object:
        if text.startswith("["):
            return [mpmath.mpf(Fraction(t).numerator) / Fraction(t).denominator for t in text.strip("[]").split(",")]
        value = Fraction(text)
        return mpmath.mpf(value.numerator) / value.denominator

    def __getattr__(self, name: str) -> object:
        return self.values[name]


Sides = object  # a function Point -> (left, right)

CLI_FALSE_CLAIMS: list[tuple[str, str, list[str], Sides]] = [
    ("diff(sigmoid(z), z)", "sigmoid(z)^2", [], lambda v: (_d(_sig, v.z), _sig(v.z) ** 2)),
    ("diff(softplus(z), z)", "sigmoid(-z)", [], lambda v: (_d(_softplus, v.z), _sig(-v.z))),
    ("diff(log(x), x)", "x", ["x > 0"], lambda v: (1 / v.x, v.x)),
    ("log(x*y)", "log(x) + log(y) + 1", ["x > 0", "y > 0"],
     lambda v: (mpmath.log(v.x * v.y), mpmath.log(v.x) + mpmath.log(v.y) + 1)),
    ("sqrt(x^2)", "x", [], lambda v: (abs(v.x), v.x)),
    ("abs(x)", "x", ["x real"], lambda v: (abs(v.x), v.x)),
    ("exp(x + y)", "exp(x) + exp(y)", [], lambda v: (mpmath.exp(v.x + v.y), mpmath.exp(v.x) + mpmath.exp(v.y))),
    ("sigmoid(-z)", "sigmoid(z)", [], lambda v: (_sig(-v.z), _sig(v.z))),
    ("softplus(z)", "log(1 + exp(-z))", [], lambda v: (_softplus(v.z), mpmath.log(1 + mpmath.exp(-v.z)))),
    ("tanh(x)", "2*sigmoid(x) - 1", [], lambda v: (mpmath.tanh(v.x), 2 * _sig(v.x) - 1)),
    ("cosh(x)^2 + sinh(x)^2", "1", [], lambda v: (mpmath.cosh(v.x) ** 2 + mpmath.sinh(v.x) ** 2, 1)),
    ("max(0, x)", "x", [], lambda v: (max(0, v.x), v.x)),
    ("diff(-y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z)), z)", "y - sigmoid(z)", ["y in {0, 1}"],
     lambda v: (_d(lambda t: -v.y * mpmath.log(_sig(t)) - (1 - v.y) * mpmath.log(1 - _sig(t)), v.z), v.y - _sig(v.z))),
    ("(x + y)^2", "x^2 + y^2", [], lambda v: ((v.x + v.y) ** 2, v.x**2 + v.y**2)),
    ("log(exp(x))", "x + 1", [], lambda v: (v.x, v.x + 1)),
    ("diff(x^3, x, 2)", "3*x", [], lambda v: (6 * v.x, 3 * v.x)),
    ("diff(x^2*y^2, x, y)", "2*x*y", [], lambda v: (4 * v.x * v.y, 2 * v.x * v.y)),
    ("y^2", "y", ["y in {-1, 1}"], lambda v: (v.y**2, v.y)),
    ("y*(y - 1)", "0", ["y in {0, 1, 2}"], lambda v: (v.y * (v.y - 1), 0)),
    ("y^3 - y", "0", ["y in {-1, 0, 1, 1/2}"], lambda v: (v.y**3 - v.y, 0)),
    ("p*(1 - p)", "1/4", ["0 < p < 1"], lambda v: (v.p * (1 - v.p), mpmath.mpf(1) / 4)),
    ("-y*log(p) - (1 - y)*log(1 - p)", "-log(p)", ["y in {0, 1}", "0 < p < 1"],
     lambda v: (-v.y * mpmath.log(v.p) - (1 - v.y) * mpmath.log(1 - v.p), -mpmath.log(v.p))),
    ("sum(y[k], k, 1, K)", "K", [], lambda v: (mpmath.fsum(v.y[: int(v.K)]), v.K)),
    ("sum(x[k]^2, k, 1, K)", "sum(x[k], k, 1, K)^2", [],
     lambda v: (mpmath.fsum(t**2 for t in v.x[: int(v.K)]), mpmath.fsum(v.x[: int(v.K)]) ** 2)),
    ("diff(log(sum(exp(z[k]), k, 1, K)), z[1])", "exp(z[1])", [],
     lambda v: (mpmath.exp(v.z[0]) / mpmath.fsum(mpmath.exp(t) for t in v.z[: int(v.K)]), mpmath.exp(v.z[0]))),
    ("max(0, 1 - y*z)", "1 - y*z", ["y in {-1, 1}"], lambda v: (max(0, 1 - v.y * v.z), 1 - v.y * v.z)),
    ("log1p(x)", "log(x) + 1", ["x > 0"], lambda v: (mpmath.log(1 + v.x), mpmath.log(v.x) + 1)),
    ("expm1(x)", "exp(x - 1)", [], lambda v: (mpmath.exp(v.x) - 1, mpmath.exp(v.x - 1))),
    ("1/K", "1/2", ["K integer >= 2"], lambda v: (1 / v.K, mpmath.mpf(1) / 2)),
    ("x - x*1e-8", "x", [], lambda v: (v.x - v.x / 10**8, v.x)),
    ("exp(x)", "1 + x + x^2/2", [], lambda v: (mpmath.exp(v.x), 1 + v.x + v.x**2 / 2)),
    ("sigmoid(z)*(1 - sigmoid(z))", "1/4", [], lambda v: (_sig(v.z) * (1 - _sig(v.z)), mpmath.mpf(1) / 4)),
    ("diff(sigmoid(z), z, 2)", "sigmoid(z)*(1 - sigmoid(z))", [],
     lambda v: (_d(_sig, v.z, 2), _sig(v.z) * (1 - _sig(v.z)))),
    ("hinge(f, y)", "max(0, 1 + y*f)", [], lambda v: (max(0, 1 - v.f * v.y), max(0, 1 + v.y * v.f))),
    ("diff(bce_with_logits(z, y, 1), z)", "y - sigmoid(z)", [],
     lambda v: (_sig(v.z) - v.y, v.y - _sig(v.z))),
    ("diff(bce_with_logits(z, y, 2), z)", "sigmoid(z) - y", ["y in {0, 1}"],  # pos_weight 2, not 1
     lambda v: ((2 * v.y + 1 - v.y) * _sig(v.z) - 2 * v.y, _sig(v.z) - v.y)),
    ("mse(yhat, y)", "abs(yhat - y)", [], lambda v: ((v.yhat - v.y) ** 2, abs(v.yhat - v.y))),
    ("log_cosh(yhat, y)", "abs(yhat - y)", [],
     lambda v: (mpmath.log(mpmath.cosh(v.y - v.yhat)), abs(v.yhat - v.y))),
    ("focal(p, 1, 2)", "-log(p)", [], lambda v: (-((1 - v.p) ** 2) * mpmath.log(v.p), -mpmath.log(v.p))),
    ("x^y", "y^x", ["x > 0", "y > 0"], lambda v: (v.x**v.y, v.y**v.x)),
    ("tanh(2*x)", "2*tanh(x)", [], lambda v: (mpmath.tanh(2 * v.x), 2 * mpmath.tanh(v.x))),
    ("sinh(x)", "x*cosh(x)", [], lambda v: (mpmath.sinh(v.x), v.x * mpmath.cosh(v.x))),
    ("min(x, y)", "(x + y - abs(x - y))/2 + 1/1000", [],
     lambda v: (min(v.x, v.y), (v.x + v.y - abs(v.x - v.y)) / 2 + mpmath.mpf(1) / 1000)),
    ("sigmoid(z)", "1/(1 + exp(-z)) + 1e-12", [], lambda v: (_sig(v.z), _sig(v.z) + mpmath.mpf(10) ** -12)),
    ("sqrt(x)*sqrt(y)", "sqrt(x*y) + sign(x)", ["x >= 0", "y >= 0"],
     lambda v: (mpmath.sqrt(v.x) * mpmath.sqrt(v.y), mpmath.sqrt(v.x * v.y) + mpmath.sign(v.x))),
    ("diff(x*exp(x), x, x)", "x*exp(x)", [], lambda v: ((v.x + 2) * mpmath.exp(v.x), v.x * mpmath.exp(v.x))),
]

CLI_FALSE_LATEX_CLAIMS: list[tuple[str, str, list[str], Sides]] = [
    (r"\frac{\partial}{\partial z}\sigma(z)", r"\sigma(z)^2", [], lambda v: (_d(_sig, v.z), _sig(v.z) ** 2)),
    (r"\frac{1}{1 + e^{-z}}", r"\frac{1}{1 + e^{z}}", [], lambda v: (_sig(v.z), _sig(-v.z))),
    (r"\log(xy)", r"\log x + \log y + 1", ["x > 0", "y > 0"],
     lambda v: (mpmath.log(v.x * v.y), mpmath.log(v.x) + mpmath.log(v.y) + 1)),
    (r"L = -y\log\sigma(z) - (1-y)\log(1-\sigma(z)); \frac{\partial L}{\partial z}", r"y - \sigma(z)",
     ["y in {0, 1}"], lambda v: (_sig(v.z) - v.y, v.y - _sig(v.z))),
    (r"\mathcal{L} = (\sigma(z) - y)^2 \\ \frac{d\mathcal{L}}{dz}", r"2(\sigma(z) - y)", [],
     lambda v: (2 * (_sig(v.z) - v.y) * _sig(v.z) * (1 - _sig(v.z)), 2 * (_sig(v.z) - v.y))),
    (r"-\sum_{k=1}^{K} y_k \log \hat{y}_k", r"-\log \hat{y}_1", ["y_hat in simplex", "y in simplex"],
     lambda v: (-mpmath.fsum(a * mpmath.log(b) for a, b in zip(v.y[: int(v.K)], v.y_hat, strict=False)),
                -mpmath.log(v.y_hat[0]))),
    (r"\max(0, 1 - y z)", r"1 - yz", ["y in {-1, 1}"], lambda v: (max(0, 1 - v.y * v.z), 1 - v.y * v.z)),
    (r"\left| x \right|", r"x", [], lambda v: (abs(v.x), v.x)),
    (r"\sqrt{x^2}", r"x", [], lambda v: (abs(v.x), v.x)),
    (r"(1 - \hat{p})^\gamma", r"1", ["gamma > 0", "0 < p_hat < 1"], lambda v: ((1 - v.p_hat) ** v.gamma, 1)),
    (r"\tanh(x)", r"2\sigma(x) - 1", [], lambda v: (mpmath.tanh(v.x), 2 * _sig(v.x) - 1)),
    (r"\frac{e^{z_1}}{\sum_{k=1}^{K} e^{z_k}}", r"\frac{1}{K}", [],
     lambda v: (mpmath.exp(v.z[0]) / mpmath.fsum(mpmath.exp(t) for t in v.z[: int(v.K)]), 1 / v.K)),
    (r"\frac{\partial^2}{\partial z^2} \log(1 + e^{z})", r"\sigma(z)", [],
     lambda v: (_sig(v.z) * (1 - _sig(v.z)), _sig(v.z))),
    (r"\cosh(x) - \sinh(x)", r"e^{x}", [], lambda v: (mpmath.exp(-v.x), mpmath.exp(v.x))),
    (r"\ln(\exp(x) + 1)", r"x", [], lambda v: (mpmath.log(mpmath.exp(v.x) + 1), v.x)),
    (r"\min(\alpha, \beta) \cdot 2", r"\alpha + \beta", [],
     lambda v: (2 * min(v.alpha, v.beta), v.alpha + v.beta)),
]


def verify_cli(capsys: pytest.CaptureFixture[str], lhs: str, rhs: str, *options: str) -> tuple[int, str, str]:
    """Run `symloss verify OPTIONS -- LHS RHS` in this process; (exit code, stdout, stderr).

    The ``--`` lets a side start with a minus sign (``-log(p)``), which argparse
    would otherwise read as an option."""
    from symloss.cli import main

    code = main(["verify", *options, "--", lhs, rhs])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _defined(value: object) -> bool:
    return isinstance(value, mpmath.mpf | int | float) or (isinstance(value, mpmath.mpc) and value.imag == 0)


def really_separates(sides: Sides, counterexample: dict[str, str]) -> bool:
    """Both sides, written by hand, differ at the counterexample (50 digits)."""
    with mpmath.workdps(50):
        left, right = sides(Point(counterexample))  # type: ignore[operator]
        if not (_defined(left) and _defined(right)):
            return _defined(left) != _defined(right)
        left, right = mpmath.re(left), mpmath.re(right)
        return abs(left - right) > mpmath.mpf(10) ** -20 * max(1, abs(left), abs(right))


def _assume_options(assume: list[str]) -> list[str]:
    return [option for a in assume for option in ("--assume", a)]


def test_there_are_at_least_forty_false_cli_claims() -> None:
    assert len(CLI_FALSE_CLAIMS) >= 40 and len(CLI_FALSE_LATEX_CLAIMS) >= 15


@pytest.mark.parametrize(("lhs", "rhs", "assume", "sides"), CLI_FALSE_CLAIMS)
def test_cli_refutes_false_claims_at_a_point_that_really_separates(
    capsys: pytest.CaptureFixture[str], lhs: str, rhs: str, assume: list[str], sides: Sides
) -> None:
    code, out, err = verify_cli(capsys, lhs, rhs, *_assume_options(assume), "--json", "--timeout", "10")
    answer = json.loads(out)
    assert code == 1 and answer["verdict"] == "refuted", out + err
    assert answer["counterexample"], out
    assert really_separates(sides, answer["counterexample"]), out


@pytest.mark.parametrize(("lhs", "rhs", "assume", "sides"), CLI_FALSE_LATEX_CLAIMS)
def test_cli_refutes_false_latex_claims_at_a_point_that_really_separates(
    capsys: pytest.CaptureFixture[str], lhs: str, rhs: str, assume: list[str], sides: Sides
) -> None:
    code, out, err = verify_cli(capsys, lhs, rhs, *_assume_options(assume), "--latex", "--json", "--timeout", "10")
    answer = json.loads(out)
    assert code == 1 and answer["verdict"] == "refuted", out + err
    assert really_separates(sides, answer["counterexample"]), out


@pytest.mark.parametrize(
    ("lhs", "rhs", "assume"),
    [
        ("x^2 + 1e-20", "x^2", []),  # below the numeric tolerance: must still not be proved
        ("sigmoid(z) + 10^(-40)", "sigmoid(z)", []),
        ("log(cosh(x))", "abs(x) + log1p(exp(-2*abs(x))) - log(2) + 1e-25", []),
        ("sum(y[k], k, 1, K)", "1 + 1e-30", ["y in simplex"]),
    ],
)
def test_cli_never_proves_claims_off_by_a_tiny_amount(
    capsys: pytest.CaptureFixture[str], lhs: str, rhs: str, assume: list[str]
) -> None:
    code, out, _err = verify_cli(capsys, lhs, rhs, *_assume_options(assume), "--json", "--timeout", "5")
    assert code in (1, 3) and json.loads(out)["verdict"] in ("refuted", "unknown"), out


# ---------------------------------------------------------------- the verify command: codes, JSON, assumptions

VERDICT_KEYS = {"verdict", "method", "counterexample", "seconds", "lhs", "relation", "rhs"}


def test_cli_exit_codes_0_1_3_2_and_the_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (("diff(bce_with_logits(z, y, 1), z)", "sigmoid(z) - y", "--assume", "y in {0, 1}"), 0, "proved"),
        (("abs(x)", "x"), 1, "refuted"),
        (("log(cosh(x))", "abs(x) + log1p(exp(-2*abs(x))) - log(2)", "--timeout", "2"), 3, "unknown"),
        (("x + foo(y)", "x"), 2, "error"),
    ]
    for (lhs, rhs, *options), code, verdict in cases:
        got, out, _err = verify_cli(capsys, lhs, rhs, *options, "--json")
        answer = json.loads(out)
        assert got == code and answer["verdict"] == verdict, out
        if verdict != "error":
            assert set(answer) == VERDICT_KEYS
            assert isinstance(answer["method"], str) and answer["method"]
            assert isinstance(answer["seconds"], float) and answer["seconds"] >= 0
            assert isinstance(answer["lhs"], str) and isinstance(answer["rhs"], str)
            cx = answer["counterexample"]
            assert cx is None if verdict != "refuted" else all(isinstance(v, str) for v in cx.values())
        else:
            assert set(answer) == VERDICT_KEYS | {"message"} and "column 5" in answer["message"]


def test_cli_text_output_and_errors_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = verify_cli(capsys, "diff(x^3, x, 2)", "6*x")
    assert code == 0 and "verdict:   proved" in out and "method:" in out and "time:" in out
    code, out, _err = verify_cli(capsys, "sigmoid(-z)", "sigmoid(z)")
    assert code == 1 and "verdict:   refuted" in out and "counterexample: z = " in out
    code, out, err = verify_cli(capsys, "x", "sum(y[k], k, 1, K", "--assume", "K integer >= 2")
    assert code == 2 and out == "" and "in the RHS" in err and "^" in err


@pytest.mark.parametrize(
    ("lhs", "rhs", "assume", "code"),
    [
        ("sqrt(x^2)", "x", ["x real"], 1),
        ("sqrt(x^2)", "x", ["x > 0"], 0),
        ("abs(x)", "x", ["x >= 0"], 0),
        ("abs(x)", "x", ["x >= -1"], 1),
        ("log(p) + log(1 - p)", "log(p - p^2)", ["0 < p < 1"], 0),
        ("log(x) + log(y)", "log(x*y)", ["x < 0", "y < 0"], 1),
        ("y^2", "y", ["y in {0, 1}"], 0),
        ("y^2", "1", ["y in {-1, 1}"], 0),
        ("y^2", "1", ["y in {-1, 0, 1}"], 1),
        ("y^3 - 5*y^2 + 6*y", "0", ["y in {0, 2, 3}"], 0),
        ("y*(2*y - 1)", "0", ["y in {0, 0.5}"], 0),
        ("(-1)^(2*K)", "1", ["K integer >= 2"], 0),
        ("sum(1/K, k, 1, K)", "1", ["K integer >= 2"], 0),
        ("sum(y[k], k, 1, K)", "1", ["y in simplex"], 0),
        ("max(0, 1 - y*z)", "max(0, 1 - z)", ["y in {1}"], 0),
        ("x*y", "abs(x*y)", ["x, y > 0"], 0),
    ],
)
def test_cli_every_assumption_form_changes_the_verdict_as_it_should(
    capsys: pytest.CaptureFixture[str], lhs: str, rhs: str, assume: list[str], code: int
) -> None:
    got, out, err = verify_cli(capsys, lhs, rhs, *_assume_options(assume), "--timeout", "10")
    assert got == code, out + err


@pytest.mark.parametrize(
    ("assume", "column"),
    [("x in (0, 1)", 6), ("x > y", 5), ("x is positive", 3), ("K integer >= two", 14), ("y in {0, 1", 11),
     ("x > 0 < 1", 7), ("__class__ > 0", 1)],
)
def test_cli_unsupported_assumptions_exit_2_pointing_at_the_position(
    capsys: pytest.CaptureFixture[str], assume: str, column: int
) -> None:
    code, _out, err = verify_cli(capsys, "x", "x", "--assume", assume)
    assert code == 2 and "in the assumption" in err and f"(column {column})" in err, err


def test_cli_timeout_is_enforced(capsys: pytest.CaptureFixture[str]) -> None:
    hard = "((exp(x+y)-exp(-x-y))/2)^60 + log(cosh(x)) - abs(x) - log1p(exp(-2*abs(x))) + log(2)"
    start = time.perf_counter()
    code, out, _err = verify_cli(capsys, "sinh(x+y)^60", hard, "--timeout", "1", "--json")
    assert time.perf_counter() - start < 30  # a hang guard, not a speed requirement
    answer = json.loads(out)
    assert code == 3 and answer["verdict"] == "unknown" and "budget" in answer["method"]
    assert answer["seconds"] < 3


def test_cli_every_payload_exits_2_with_no_side_effect(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = [
        *payloads(marker),
        f"getattr(x, '__class__')('{marker}')",
        "x.__class__.__mro__",
        "__class__",
        "x + __import__",
        f"{{open('{marker}', 'w') for _ in [1]}}",
        f"[c('{marker}') for c in ().__class__.__base__.__subclasses__()]",
        f"exec('open(\"{marker}\", \"w\")')",
        f"eval('open(\"{marker}\", \"w\")')",
        f"compile('1', '{marker}', 'eval')",
        "10**10**10",
        "(" * 200 + "x" + ")" * 200,
        "-" * 1900 + "x",
        "x+" * 1500 + "x",
        "sigmoid(" * 60 + "x" + ")" * 60,
        "1" * 3000,
    ]
    for payload in hostile:
        for latex in ((), ("--latex",)):
            code, out, err = verify_cli(capsys, payload, "1", *latex)
            assert code == 2, (payload, out)
            assert "column" in err, (payload, err)
    assert not marker.exists()



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


def test_reading_the_claim_is_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader slower than the budget (the budgeted child is forked, so it runs the patched reader)."""
    import symloss.verify.claim as claim_module

    def slow_parse_many(*args: object, **kwargs: object) -> object:
        time.sleep(30)
        return parse_many(*args, **kwargs)

    monkeypatch.setattr(claim_module, "parse_many", slow_parse_many)
    start = time.perf_counter()
    result = run_verify(SLOW_TO_READ, "x^199", timeout=2)
    elapsed = time.perf_counter() - start
    assert elapsed < 2 + 3, elapsed
    assert result.verdict is not None and result.verdict.status == "unknown" and result.exit_code == 3
    assert result.verdict.method == "timed out after 2 s while reading the claim"
    assert result.lhs is None and result.to_json()["lhs"] is None and result.to_json()["relation"] is None
    assert result.to_text().startswith(f"{SLOW_TO_READ} = x^199\n"), result.to_text()


def test_cli_the_slow_claim_of_the_issue_answers_within_the_timeout() -> None:
    """The issue's claim (a max of 199 terms, whose reading alone took minutes) is refused by the reader's
    limit on the arguments of a max, within the budget."""
    start = time.perf_counter()
    done = cli(SLOW_TO_READ, "x^199", "--timeout", "5", "--json")
    elapsed = time.perf_counter() - start
    assert elapsed < 5 + 10, elapsed  # the budget, plus starting Python and loading the catalog
    answer = json.loads(done.stdout)
    assert done.returncode == 2 and answer["verdict"] == "error" and "the limit is" in answer["message"], answer


def test_a_true_claim_is_still_proved_through_the_budgeted_reader() -> None:
    result = run_verify("x^2 >= 0", timeout=20)
    assert result.verdict is not None and result.verdict.status == "proved" and result.exit_code == 0
    assert result.lhs is not None and result.relation == ">=" and result.to_json()["lhs"] == "x**2"


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
