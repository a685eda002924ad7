"""The exponentials family: its identities proved and false variants refuted, each rewrite what its claim
says (and nothing else), and the kernels of losses it rewrites finite and within budget where the
textbook form overflows."""

from __future__ import annotations

from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from symloss.declare.catalog import load_catalog
from symloss.declare.functions import to_elementary
from symloss.emit.codegen import load_generated
from symloss.prove.prover import prove
from symloss.stabilize.engine import ProvedRule, stabilize
from symloss.stabilize.exponentials import EXPONENTIALS, LOG_SUM_MINUS_EXPONENT, log1p_of_exp_scaled
from symloss.stabilize.identities import C, a, claim, u
from symloss.stabilize.primitives import expand_primitives, log1p

ULP_BUDGET = 4.0
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
z, y = sp.symbols("z y", real=True)
theta = sp.Symbol("theta", positive=True)
M = sp.Max(z, 0)
THETA_LOG_SUM = sp.Piecewise((z + log1p(theta * sp.exp(-z)), z >= sp.log(theta)),
                             (sp.log(theta) + log1p(sp.exp(z) / theta), True))  # log(θ + e^z), no log θ in an exp


@pytest.mark.parametrize("rule", EXPONENTIALS, ids=lambda r: r.name)
def test_every_claim_is_proved(rule: object) -> None:
    assert [prove(c).status for c in rule.claims] == ["proved"] * len(rule.claims)


@pytest.mark.parametrize(
    "false",
    [
        claim("no |.|: log(C + e^(log C - u)) = log C - u + log(1 + e^(-u))",
              sp.log(C + sp.exp(sp.log(C) - u)), sp.log(C) - u + sp.log(1 + sp.exp(-u))),
        claim("C on the wrong term: 1/(C + e^a) = e^(-M)/(e^(-M) + C e^(a - M))",
              1 / (C + sp.exp(a)), sp.exp(-sp.Max(a, 0)) / (sp.exp(-sp.Max(a, 0)) + C * sp.exp(a - sp.Max(a, 0)))),
        claim("max(a, 0) not taken out of the numerator: e^a/(C + e^a) = e^a/(C e^(-M) + e^(a - M))",
              sp.exp(a) / (C + sp.exp(a)), sp.exp(a) / (C * sp.exp(-sp.Max(a, 0)) + sp.exp(a - sp.Max(a, 0)))),
        claim("the exponent's sign kept: log(C + e^a) - a = log(1 + C e^a)",
              sp.log(C + sp.exp(a)) - a, sp.log(1 + C * sp.exp(a))),
        claim("far, a added: log(1 + C e^(-a)) = (log C + a) + log(1 + e^a/C)",
              sp.log(1 + C * sp.exp(-a)), sp.log(C) + a + sp.log(1 + sp.exp(a) / C)),
    ],
    ids=lambda c: c.statement.split(":")[0],
)
def test_false_variants_are_not_proved(false: object) -> None:
    assert prove(false).status != "proved"


def _numerically_equal(before: sp.Expr, after: sp.Expr) -> bool:
    """The two sides agree (to 30 digits) at a few real points, positive constants positive."""
    rng = np.random.default_rng(7)
    for _ in range(4):
        point = {s: sp.Float(abs(rng.normal()) + 0.1 if s.is_positive else rng.normal() * 3, 30)
                 for s in before.free_symbols | after.free_symbols}
        lhs = sp.N(to_elementary(expand_primitives(before)).xreplace(point), 30)
        rhs = sp.N(to_elementary(expand_primitives(after)).xreplace(point), 30)
        if abs(lhs - rhs) > sp.Float("1e-25") * max(1, abs(lhs)):
            return False
    return True


@pytest.mark.parametrize("rule", EXPONENTIALS, ids=lambda r: r.name)
def test_each_rewrite_changes_its_sample_into_an_equal_expression(rule: object) -> None:
    rewritten = rule.rewrite(rule.sample)
    assert rewritten != rule.sample
    assert _numerically_equal(rule.sample, rewritten)


def _proved_family() -> tuple[ProvedRule, ...]:
    return tuple(ProvedRule(rule, tuple(prove(c) for c in rule.claims)) for rule in EXPONENTIALS)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (sp.log(1 + sp.exp(z)), sp.Max(z, 0) + log1p(sp.exp(-sp.Abs(z)))),
        (log1p(sp.exp(-z)), sp.Max(-z, 0) + log1p(sp.exp(-sp.Abs(z)))),
        (sp.log(theta + sp.exp(z)), THETA_LOG_SUM),
        (sp.exp(z) / (1 + sp.exp(z)), sp.exp(z - M) / (sp.exp(-M) + sp.exp(z - M))),
        (y / (sp.exp(z) + 1), y * sp.exp(-M) / (sp.exp(-M) + sp.exp(z - M))),
        (theta * sp.exp(z) / (theta + sp.exp(z)) ** 2,
         theta * sp.exp(z - 2 * M) / (theta * sp.exp(-M) + sp.exp(z - M)) ** 2),
        ((y + theta) * sp.log(theta + sp.exp(z)) - y * z,
         theta * THETA_LOG_SUM + log1p_of_exp_scaled(theta, z, y)),
        (sp.log(1 + sp.exp(z)) - z, sp.Max(-z, 0) + log1p(sp.exp(-sp.Abs(z)))),
    ],
)
def test_the_family_rewrites(expr: sp.Expr, expected: sp.Expr) -> None:
    result = stabilize(expr, _proved_family())
    assert result.expr == expected
    assert _numerically_equal(expr, result.expr)


@pytest.mark.parametrize(
    "expr",
    [
        sp.log(y + sp.exp(z)),  # y may be negative or 0
        log1p(sp.exp(-sp.Abs(z))),  # already the stable tail (the rule's own output: a fixed point)
        sp.exp(3 * z) / (1 + sp.exp(z)) ** 2,  # m > n: the quotient itself overflows
        sp.exp(z) / (1 + sp.exp(2 * z)),  # not one exponential over c + that exponential
    ],
)
def test_what_the_family_leaves_alone(expr: sp.Expr) -> None:
    assert stabilize(expr, _proved_family()).expr == expr


@pytest.mark.parametrize(
    "expr",
    [
        theta * sp.log(theta + sp.exp(z)) - y * z,  # y not a term of the log's weight: K - k would cancel
        (y + theta) * sp.log(theta + sp.exp(z)) - y * z**2,  # not the log's exponent
        (y + theta) * sp.log(theta + sp.exp(z)) - z * sp.exp(z),  # a weight that holds the exponent
    ],
)
def test_what_log_sum_minus_exponent_leaves_alone(expr: sp.Expr) -> None:
    assert LOG_SUM_MINUS_EXPONENT.rewrite(expr) == expr


# ------------------------------------------------------------------------------ kernels


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples' logistic and negative binomial kernels generated by this checkout's engine."""
    from symloss.pipeline import build_kernels, derive_all, write_kernels

    folder = tmp_path_factory.mktemp("kernels")
    losses = load_catalog(EXAMPLES).select(["logistic", "negative_binomial_nll"])
    write_kernels(build_kernels(derive_all(losses, workers=1), certify=False), folder)
    return folder


def ulps(computed: float, true: mpmath.mpf) -> float:
    """|computed − true| in units of the last place of the rounded truth."""
    return float(abs(mpmath.mpf(computed) - true) / mpmath.mpf(float(np.spacing(abs(float(true))))))


def _within_budget(got: np.ndarray, want: list[mpmath.mpf]) -> None:
    for computed, true in zip(got, want, strict=True):
        assert np.isfinite(computed), (computed, true)
        if abs(true) >= np.finfo(np.float64).tiny:
            assert ulps(computed, true) <= ULP_BUDGET, (computed, true)
        else:
            assert abs(computed - float(true)) <= 4 * np.finfo(np.float64).smallest_subnormal, (computed, true)


MARGINS = np.array([710.0, -710.0, 1e4, -1e4, 0.3, -2.5, 30.0])


@pytest.mark.parametrize("label", [1.0, -1.0])
def test_logistic_kernel_is_finite_and_within_budget_at_huge_scores(kernels: Path, label: float) -> None:
    """log(1 + e^{-y f}) once overflowed at y f = -710 (inf for a loss of 710), and its gradient
    -y e^{-yf}/(1 + e^{-yf}) was inf/inf."""
    module = load_generated(kernels, "logistic")
    labels = np.full_like(MARGINS, label)
    with mpmath.workdps(60):
        m = [-mpmath.mpf(label) * mpmath.mpf(f) for f in MARGINS]
        _within_budget(module.logistic(MARGINS, labels, reduction="none"), [mpmath.log1p(mpmath.exp(x)) for x in m])
        _within_budget(module.logistic_grad(MARGINS, labels, reduction="none"),
                       [-mpmath.mpf(label) / (1 + mpmath.exp(-x)) for x in m])


def test_negative_binomial_hessian_is_finite_and_within_budget_at_huge_logs(kernels: Path) -> None:
    """θ(θ + y)e^z/(θ + e^z)² was inf/inf at z = 710; divided through by e^{2z} it is θ(θ + y)e^{-z}/(θ + 1)²."""
    module = load_generated(kernels, "negative_binomial_nll")
    counts = np.array([0.0, 3.0, 0.0, 7.0, 2.0, 0.0, 1.0])
    with mpmath.workdps(60):
        for dispersion in (1.0, 2.5):
            want = [(dispersion + mpmath.mpf(n)) * dispersion * mpmath.exp(mpmath.mpf(x))
                    / (dispersion + mpmath.exp(mpmath.mpf(x))) ** 2 for x, n in zip(MARGINS, counts, strict=True)]
            got = module.negative_binomial_nll_hess(MARGINS, counts, theta=dispersion, reduction="none")
            _within_budget(got, want)


def test_negative_binomial_value_is_finite_and_within_budget_where_its_terms_cancel(kernels: Path) -> None:
    """(y + θ) log(θ + e^z) - y z: (y + θ) z - y z lost every digit at z = 1e10, y = 1e9, θ = 1 and was
    inf - inf = NaN at z = 1.8e308, y = 14, θ = 2.2e261 (truth inf); as θ log(θ + e^z) + y log(1 + θ e^-z),
    two terms that do not cancel, neither does."""
    module = load_generated(kernels, "negative_binomial_nll")
    points = [(1e10, 1e9, 1.0), (40.0, 1e9, 1.0), (-3.0, 7.0, 1e-300), (2.0, 3.0, 1e20), (-50.0, 1e9, 2.5),
              (4.394333926014576e-80, 36150591367169.0, 1.4998537827348041e-260), (-800.0, 5.0, 1e10)]
    with mpmath.workdps(1000):  # y log(1 + θ e^-z) at θ = 1e-300 is the difference of two logs 1e-299 apart
        for x, n, dispersion in points:
            want = ((mpmath.mpf(n) + dispersion) * mpmath.log(dispersion + mpmath.exp(mpmath.mpf(x)))
                    - mpmath.mpf(n) * mpmath.mpf(x))
            got = module.negative_binomial_nll(np.array([x]), np.array([n]), theta=dispersion, reduction="none")
            _within_budget(got, [want])
        huge = module.negative_binomial_nll(np.array([1.7976931348623157e308]), np.array([14.0]),
                                            theta=2.2187860461563992e261, reduction="none")
        assert huge[0] == np.inf
