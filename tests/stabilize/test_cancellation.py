"""The cancellation family: its identities proved and false variants refuted, each rewrite what its
claim says (and nothing else), and the kernels of losses it rewrites within budget where the textbook
form cancels to nothing at small arguments."""

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
from symloss.stabilize.cancellation import CANCELLATION
from symloss.stabilize.engine import ProvedRule, stabilize
from symloss.stabilize.identities import a, b, claim, t, w, x
from symloss.stabilize.primitives import (
    expand_primitives,
    expm1,
    exprel,
    log1p,
    square_of_sum,
    square_ratio_of_sum,
)

ULP_BUDGET = 4.0
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
p, q, c = sp.symbols("p q c", positive=True)
z, y = sp.symbols("z y", real=True)


@pytest.mark.parametrize("rule", CANCELLATION, ids=lambda r: r.name)
def test_every_claim_is_proved(rule: object) -> None:
    assert [prove(cl).status for cl in rule.claims] == ["proved"] * len(rule.claims)


@pytest.mark.parametrize(
    "false",
    [
        claim("log1p of the whole base: (1 + x)^a - 1 = expm1(a log1p(1 + x))", (1 + x) ** a - 1,
              expand_primitives(expm1(a * log1p(1 + x)))),
        claim("the exponent outside: c u^a - c = c a expm1(log u)", t * w**a - t,
              expand_primitives(t * a * expm1(sp.log(w)))),
        claim("the sign lost: c - c e^a = c expm1(a)", t - t * sp.exp(a), expand_primitives(t * expm1(a))),
        claim("the divisor kept: c expm1(a b)/a = c exprel(a b)/a", t * expm1(a * b) / a,
              expand_primitives(t * exprel(a * b) / a)),
        claim("the exponent's cofactor lost: c expm1(a b)/a = c exprel(a b)", t * expm1(a * b) / a,
              expand_primitives(t * exprel(a * b))),
    ],
    ids=lambda cl: cl.statement.split(":")[0],
)
def test_false_variants_are_not_proved(false: object) -> None:
    assert prove(false).status != "proved"


def _numerically_equal(before: sp.Expr, after: sp.Expr) -> bool:
    """The two sides agree (to 30 digits) at a few real points with positive bases (positive symbols in (0, 1))."""
    rng = np.random.default_rng(7)
    for _ in range(4):
        point = {s: sp.Float(rng.uniform(0.05, 0.95) if s.is_positive else rng.normal(), 30)
                 for s in before.free_symbols | after.free_symbols}
        lhs = sp.N(to_elementary(expand_primitives(before)).xreplace(point), 30)
        rhs = sp.N(to_elementary(expand_primitives(after)).xreplace(point), 30)
        if abs(lhs - rhs) > sp.Float("1e-25") * max(1, abs(lhs)):
            return False
    return True


@pytest.mark.parametrize("rule", CANCELLATION, ids=lambda r: r.name)
def test_each_rewrite_changes_its_sample_into_an_equal_expression(rule: object) -> None:
    rewritten = rule.rewrite(rule.sample)
    assert rewritten != rule.sample
    assert _numerically_equal(rule.sample, rewritten)


def _proved_family() -> tuple[ProvedRule, ...]:
    return tuple(ProvedRule(rule, tuple(prove(cl) for cl in rule.claims)) for rule in CANCELLATION)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ((1 - p**q) / q, -sp.log(p) * exprel(q * sp.log(p))),  # a probability to a small power: p > 0 is known;
        # the Box-Cox quotient expm1(q log p)/q as log p exprel(q log p), -log p where q log p underflows
        (sp.sqrt(1 + z**2) - 1, expm1(log1p(z**2) / 2)),  # 1 + z^2 is known positive
        (y + 3 * (1 + square_of_sum(z, -y) / c**2) ** (a / 2) - 3,  # two terms of a longer sum, the rest kept
         y + 3 * expm1(a * log1p(square_of_sum(z, -y) / c**2) / 2)),
        (c**2 / 2 * (1 - sp.exp(-z**2 / c**2)), -c**2 * expm1(-z**2 / c**2) / 2),
        (c - c * sp.exp(z) + y, -c * expm1(z) + y),
        (3 * sp.Piecewise((c * z, z > 10**300), (sp.sqrt(1 + z**2), True)) - 3 + y,  # a scaling rule's regimes:
         y + sp.Piecewise((3 * c * z - 3, z > 10**300), (3 * expm1(log1p(z**2) / 2), True))),  # -c into each
        (sp.sqrt(1 + square_ratio_of_sum(z, -y, c) / 2) - 1,  # a squared ratio is nonnegative: no Piecewise
         expm1(log1p(square_ratio_of_sum(z, -y, c) / 2) / 2)),
        ((1 - (1 - p) ** q) / q,  # 1 - p is not known positive: the textbook form kept where it is not
         sp.Piecewise((-log1p(-p) * exprel(q * log1p(-p)), p < 1), ((1 - (1 - p) ** q) / q, True))),
        (c * expm1(q**2 * z) / q**2 + expm1(2 * z) / 2,  # a divisor that is a factor of the exponent; not a number
         c * z * exprel(q**2 * z) + expm1(2 * z) / 2),
        (expm1(q * z) / q**3, z * exprel(q * z) / q**2),  # one factor of a power of the divisor
    ],
)
def test_the_family_rewrites(expr: sp.Expr, expected: sp.Expr) -> None:
    result = stabilize(expr, _proved_family())
    assert result.expr == expected
    assert _numerically_equal(expr, result.expr)


@pytest.mark.parametrize(
    "expr",
    [
        (1 + z) ** 3 - 1,  # an integer power: its base may be negative, where the logarithm is not real
        p**q - 2,  # not the same scale: no cancellation at 1
        2 * p**q - 3 * y,
        sp.exp(z) - y,  # no constant term: the exp_minus_variable rule's business
        expm1(q * sp.log(p)),  # the rule's own output: a fixed point
        expm1(q * z) / c,  # the divisor is not a factor of the exponent
    ],
)
def test_what_the_family_leaves_alone(expr: sp.Expr) -> None:
    assert stabilize(expr, _proved_family()).expr == expr


# ------------------------------------------------------------------------------ kernels


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples' kernels this family rewrites, generated by this checkout's engine."""
    from symloss.pipeline import build_kernels, derive_all, write_kernels

    folder = tmp_path_factory.mktemp("kernels")
    losses = load_catalog(EXAMPLES).select(["generalized_cross_entropy", "barron", "welsch", "pseudo_huber"])
    write_kernels(build_kernels(derive_all(losses, workers=1), certify=False), folder)
    return folder


def ulps(computed: float, true: mpmath.mpf) -> float:
    """|computed − true| in units of the last place of the rounded truth."""
    return float(abs(mpmath.mpf(computed) - true) / mpmath.mpf(float(np.spacing(abs(float(true))))))


def _within_budget(got: np.ndarray, want: list[mpmath.mpf]) -> None:
    for computed, true in zip(got, want, strict=True):
        assert np.isfinite(computed), (computed, true)
        assert ulps(computed, true) <= ULP_BUDGET, (computed, true)


def test_generalized_cross_entropy_at_a_small_power_and_a_sure_probability(kernels: Path) -> None:
    """(1 − p^q)/q was 0 where p^q rounds to 1 (p = 1 − 2^-53 at q = 1e-8, p = 1/2 at q = 1e-20); as
    −log p exprel(q log p) it is −log p to first order in q, also where q log p underflows (it was 0 at
    p = 1.35e-225, q = 2.1e-175 with the label 0 as −expm1(q log1p(−p))/q)."""
    module = load_generated(kernels, "generalized_cross_entropy")
    probabilities = np.array([1 - 2.0**-53, 0.5, 1e-300, 2.0**-53, 0.25, 1.35e-225, 2.0**-53])
    powers = np.array([1e-8, 1e-20, 1e-5, 0.5, 1e-8, 2.1e-175, 1e-320])  # q log p underflows at the last two
    with mpmath.workdps(80):
        for label in (1.0, 0.0):
            want = [-mpmath.expm1(mpmath.mpf(g) * (mpmath.log(pr) if label else mpmath.log1p(-mpmath.mpf(pr))))
                    / mpmath.mpf(g) for pr, g in zip(probabilities, powers, strict=True)]
            got = [module.generalized_cross_entropy(np.array([pr]), np.array([label]), q=g, reduction="none")[0]
                   for pr, g in zip(probabilities, powers, strict=True)]
            _within_budget(np.array(got), want)


RESIDUALS = np.array([1e-9, -3e-5, 1e-30, 0.7, -2.0])


@pytest.mark.parametrize("loss", ["barron", "welsch", "pseudo_huber"])
def test_robust_losses_at_small_residuals(kernels: Path, loss: str) -> None:
    """Barron's ((1 + u)^(α/2) − 1), Welsch's 1 − e^(−(r/c)^2) and pseudo-Huber's √(1 + (r/c)^2) − 1 were
    0 for a residual below 1e-8 (the power or exponential rounded to 1); they are r^2/2 to first order."""
    module = load_generated(kernels, loss)
    alpha, scale = mpmath.mpf("0.5"), mpmath.mpf(1)
    with mpmath.workdps(80):
        truths = {
            "barron": lambda r: abs(alpha - 2) / alpha * ((1 + (r / scale) ** 2 / abs(alpha - 2)) ** (alpha / 2) - 1),
            "welsch": lambda r: scale**2 / 2 * (1 - mpmath.exp(-((r / scale) ** 2))),
            "pseudo_huber": lambda r: scale**2 * (mpmath.sqrt(1 + (r / scale) ** 2) - 1),
        }
        want = [truths[loss](mpmath.mpf(r)) for r in RESIDUALS]
    options = {"alpha": 0.5, "c": 1.0} if loss == "barron" else {"c": 1.0}
    got = getattr(module, loss)(RESIDUALS, np.zeros_like(RESIDUALS), reduction="none", **options)
    _within_budget(got, want)


def test_exprel_against_mpmath(kernels: Path) -> None:
    """The kernels' exprel(x) = expm1(x)/x within 2 ulp from 0 and the subnormals to the overflow of e^x/x."""
    numerics = load_generated(kernels, "_numerics")
    x = np.array([0.0, -0.0, 5e-324, -1e-310, 1e-200, -3e-17, 1e-8, 0.5, -0.75, 3.0, -40.0, -800.0, 300.0, 700.0,
                  705.5, 712.0, -np.inf])
    got = numerics._exprel(x)
    with mpmath.workdps(60):
        for xi, computed in zip(x, got, strict=True):
            true = mpmath.mpf(1) if xi == 0 else (0 if xi == -np.inf else mpmath.expm1(mpmath.mpf(xi)) / xi)
            assert computed == true if true == 0 else ulps(computed, true) <= 2, (xi, computed, true)
    assert numerics._exprel(np.array([np.inf]))[0] == np.inf
    assert np.isnan(numerics._exprel(np.array([np.nan]))[0])
