"""The homogeneous family: a positively homogeneous function of a residual computed on the halves where the
residual overflows (pinball, ε-insensitive, Huber's linear part at y = -ŷ = 1.8e308)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from test_scaling import _kernel_module

from symloss.prove.prover import prove
from symloss.stabilize.exact_sum_primitives import half, on_halves
from symloss.stabilize.homogeneous import HOMOGENEOUS
from symloss.stabilize.identities import C, a, b, claim, t
from symloss.stabilize.primitives import expand_primitives, expm1, log1p, square_ratio, square_ratio_of_sum

RULE = HOMOGENEOUS[0]
BIG = np.finfo(np.float64).max


def test_every_claim_is_proved() -> None:
    assert [prove(c, budget=20.0).status for c in RULE.claims] == ["proved"] * len(RULE.claims)


def test_the_rewrite_changes_its_sample_into_an_equal_expression() -> None:
    rewritten = RULE.rewrite(RULE.sample)
    assert isinstance(rewritten, on_halves)
    assert expand_primitives(rewritten) == RULE.sample
    plain, halved, scale = rewritten.args
    assert sp.simplify(plain - scale * expand_primitives(halved)) == 0


FALSE_VARIANTS = [
    ("a max with one argument not halved", sp.Max(a, b), 2 * sp.Max(a / 2, b)),
    ("an input added to the residual not halved", sp.Abs(a - b) - C, 2 * (sp.Abs(a / 2 - b / 2) - C)),
    ("a scaled factor halved twice", t * (a + b), 2 * (t / 2 * (a / 2 + b / 2))),
    ("a function of a ratio with its scale not halved", sp.exp(-(((a + b) / C) ** 2)),
     sp.exp(-(((a / 2 + b / 2) / C) ** 2))),
    ("c^2 rho(r/c) at the halves times 2, not 4", C**2 * sp.exp(-(((a + b) / C) ** 2)),
     2 * (C / 2) ** 2 * sp.exp(-(((a / 2 + b / 2) / (C / 2)) ** 2))),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), FALSE_VARIANTS, ids=[v[0] for v in FALSE_VARIANTS])
def test_a_false_variant_is_refuted(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    assert prove(claim(statement, lhs, rhs), budget=20.0).status == "refuted"


def test_only_homogeneous_functions_of_more_than_a_residual_are_rewritten() -> None:
    y, yhat, tau = sp.symbols("y yhat tau", real=True)
    eps = sp.Symbol("epsilon", nonnegative=True)
    r = y - yhat
    for unchanged in (r, sp.Abs(r), 3 * r, r**2, sp.Max(0, sp.Abs(r) - eps**2),
                      sp.Max(0, sp.Abs(r) - 1)):
        assert RULE.rewrite(unchanged) == unchanged
    pinball = sp.Max(tau * r, (tau - 1) * r)
    assert RULE.rewrite(pinball) == on_halves(pinball, pinball.xreplace({y: half(y), yhat: half(yhat)}), 2)
    insensitive = sp.Max(0, sp.Abs(r) - eps)
    assert RULE.rewrite(insensitive).args[1] == sp.Max(0, sp.Abs(half(y) - half(yhat)) - half(eps))
    assert RULE.rewrite(RULE.rewrite(insensitive)) == RULE.rewrite(insensitive)  # no on_halves of an on_halves


def test_a_scale_is_halved_with_the_residual_where_a_function_of_their_ratio_asks_for_it() -> None:
    """c² ρ(r/c) and r ρ'(r/c) are of degree 2 and 1 in (y, ŷ, c), not in (y, ŷ) alone; a function of a residual
    with no input to scale with it or a primitive alone are kept, and of a sum of degrees 1 and 0 with nothing to
    scale only the term of degree 1 is taken."""
    y, yhat = sp.symbols("y yhat", real=True)
    c = sp.Symbol("c", positive=True)
    ratio = square_ratio_of_sum(yhat, -y, c)
    halves = {y: half(y), yhat: half(yhat), c: half(c)}
    welsch = -(c**2) * expm1(-ratio) / 2  # c^2 is printed as a square in on_halves' arguments: one c kept out
    inner = -c * expm1(-ratio) / 2
    assert RULE.rewrite(welsch) == c * on_halves(inner, inner.xreplace(halves), 2)
    assert RULE.rewrite(RULE.rewrite(welsch)) == RULE.rewrite(welsch)
    assert RULE.rewrite(welsch / c**4) == welsch / c**4  # c^-2 would underflow in on_halves' arguments
    gradient = (yhat - y) * sp.exp(-ratio)
    assert RULE.rewrite(gradient) == on_halves(gradient, gradient.xreplace(halves), 2)
    for unchanged in ((y - yhat) * sp.exp(y - yhat), sp.exp(-ratio), 3 * ratio):
        assert RULE.rewrite(unchanged) == unchanged
    cauchy = c * sp.log(1 + ((y - yhat) / c) ** 2)
    assert RULE.rewrite(cauchy + 1) == on_halves(cauchy, cauchy.xreplace(halves), 2) + 1  # the sum is of no degree


FORMULAS = {
    "insensitive": lambda r, c: sp.Max(0, sp.Abs(r) - c),
    "huber_linear": lambda r, c: c * (sp.Abs(r) - c / 2),
    "pinball": lambda r, c: sp.Max(c * r, (c - 1) * r),
    "half_square": lambda r, c: r**2 / 2,
}


def _within_4_ulp(got: np.ndarray, truths: list[mpmath.mpf]) -> None:
    """Each finite and within 4 ulp of its truth (the ulp of the largest float finite: 2^971)."""
    assert np.all(np.isfinite(got)), got
    for computed, true in zip(got, truths, strict=True):
        ulp = mpmath.ldexp(1, max(mpmath.frexp(true)[1], -1021) - 53) if true else mpmath.ldexp(1, -1074)
        assert abs(mpmath.mpf(float(computed)) - true) / ulp <= 4, (computed, true)


def _truth(name: str, yhat: float, y: float, c: float) -> mpmath.mpf:
    r, c_ = mpmath.mpf(yhat) - mpmath.mpf(y), mpmath.mpf(c)
    if name == "insensitive":
        return max(mpmath.mpf(0), abs(r) - c_)
    if name == "huber_linear":
        return c_ * (abs(r) - c_ / 2)
    if name == "half_square":
        return r**2 / 2
    return max(c_ * r, (c_ - 1) * r)


@pytest.mark.parametrize("name", FORMULAS)
def test_the_kernel_is_within_4_ulp_where_the_residual_overflows_and_elsewhere(name: str) -> None:
    kernel, module = _kernel_module(f"halves_{name}", FORMULAS[name])
    assert "homogeneous_on_halves" in kernel.value.rules
    rng = np.random.default_rng(7)
    points = [(-8.01382217850749e+305, BIG, 5e-324), (-1.5786110243368076e+154, -1.833579720924127e-233, 5e176),
              (BIG, -BIG, BIG), (-BIG, BIG, 1.5), (BIG, -BIG, 0.25), (1.7e308, -1.6e308, 1e300), (2.0, -3.0, 0.5)]
    points += [(float(u), float(v), float(w)) for u, v, w in zip(
        rng.choice([-1, 1], 40) * 2.0 ** rng.uniform(-1070, 1024, 40),
        rng.choice([-1, 1], 40) * 2.0 ** rng.uniform(-1070, 1024, 40),
        2.0 ** rng.uniform(-1070, 1023, 40), strict=True)]
    with mpmath.workdps(60):
        truths = [_truth(name, *p) for p in points]
    kept = [(p, v) for p, v in zip(points, truths, strict=True) if abs(v) <= mpmath.mpf(BIG)]
    got = np.array([getattr(module, f"halves_{name}")(np.array([yhat]), np.array([y]), c=c, reduction="none")[0]
                    for (yhat, y, c), _ in kept])
    _within_4_ulp(got, [v for _, v in kept])


def test_welsch_gradient_is_within_4_ulp_where_its_residual_overflows() -> None:
    """The gradient r e^{−(r/c)²} of c²(1 − e^{−(r/c)²})/2 at r = 1.8e308 + 8e305 (inf times 0 before), on the
    halves of (y, ŷ, c)."""
    kernel, module = _kernel_module("halves_welsch", lambda r, c: c**2 * (1 - sp.exp(-((r / c) ** 2))) / 2)
    assert "homogeneous_on_halves" in kernel.gradient.rules
    points = [(-8.01382217850749e+305, BIG, 1e150), (-8.01382217850749e+305, BIG, 5e-324), (2.0, -3.0, 0.5)]
    with mpmath.workdps(60):
        for yhat, y, c in points:
            r, c_ = mpmath.mpf(yhat) - mpmath.mpf(y), mpmath.mpf(c)
            gradient = module.halves_welsch_grad(np.array([yhat]), np.array([y]), c=c, reduction="none")
            _within_4_ulp(gradient, [r * mpmath.exp(-((r / c_) ** 2))])


PIECEWISE_FALSE_VARIANTS = [
    ("a Piecewise whose condition keeps its scale unhalved",
     sp.Piecewise((sp.Abs(a + b) ** 2, sp.Abs(a + b) < C), (C * sp.Abs(a + b), True)),
     4 * sp.Piecewise((sp.Abs(a / 2 + b / 2) ** 2, sp.Abs(a / 2 + b / 2) < C), (C / 2 * sp.Abs(a / 2 + b / 2), True))),
    ("a sum of logarithms of total degree 1 taken as degree 0",
     2 * sp.log(sp.Abs(a + b)) - sp.log(C), 2 * sp.log(sp.Abs(a / 2 + b / 2)) - sp.log(C / 2)),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), PIECEWISE_FALSE_VARIANTS,
                         ids=[v[0] for v in PIECEWISE_FALSE_VARIANTS])
def test_a_false_piecewise_or_logarithm_variant_is_refuted(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    assert prove(claim(statement, lhs, rhs), budget=20.0).status == "refuted"


def test_a_piecewise_is_halved_only_where_its_conditions_are_invariant() -> None:
    """c·(log1p((r/c)²) or 2 log|r| − 2 log c + log1p((c/r)²) where (r/c)² > 1e300) is of degree 1 in (y, ŷ, c):
    its condition compares degrees 0 and 0, its logarithms' degrees cancel; a condition r² > 1e300 (degree 2
    against 0) is not invariant and the Piecewise is kept."""
    y, yhat = sp.symbols("y yhat", real=True)
    c = sp.Symbol("c", positive=True)
    r = yhat - y
    regimes = sp.Piecewise((-2 * sp.log(c) + 2 * sp.log(sp.Abs(r)) + log1p(square_ratio(c, r)),
                            square_ratio(r, c) > 1e300), (log1p(square_ratio(r, c)), True))
    rewritten = RULE.rewrite(c * regimes)
    assert isinstance(rewritten, on_halves) and rewritten.args[2] == 2
    assert rewritten.args[1] == (c * regimes).xreplace({s: half(s) for s in (y, yhat, c)})
    not_invariant = c * sp.Piecewise((sp.Abs(r), r**2 > 1e300), (2 * sp.Abs(r), True))
    assert RULE.rewrite(not_invariant) == not_invariant
    huber = sp.Piecewise((r**2 / 2, sp.Abs(r) < c), (c * (sp.Abs(r) - c / 2), True))
    kept = RULE.rewrite(2 * huber)  # its branches taken one by one: delta (|r| - delta/2) keeps its outer delta
    assert isinstance(kept, sp.Mul) and isinstance(kept.args[1], sp.Piecewise)
    assert all(isinstance(branch, on_halves) for branch, _ in kept.args[1].args)


@pytest.mark.parametrize("power", [1, 2])
def test_a_scaled_log_with_regimes_is_within_4_ulp_where_the_residual_overflows(power: int) -> None:
    """c^k log(1 + (r/c)²) at y = −ŷ = 1.8e308 (inf before: 2 log|r| with r overflowing), on the halves of
    (y, ŷ, c); for k = 2 (Cauchy's c²/2 log(1 + (r/c)²)) one c is kept out of the halves, and the value is
    still finite where c² overflows but c(c x) does not (c = 1e200, r = 1e100)."""
    name = f"halves_scaled_log{power}"
    kernel, module = _kernel_module(name, lambda r, c: c**power * sp.log(1 + (r / c) ** 2) / 2)
    assert "homogeneous_on_halves" in kernel.value.rules
    points = [(-BIG, BIG, 1.5), (BIG, -BIG, 1e300), (-8.01382217850749e+305, BIG, 3.0), (2.0, -3.0, 0.5),
              (1e100, 0.0, 1e200)]
    with mpmath.workdps(60):
        truths = [mpmath.mpf(c) ** power * mpmath.log1p(((mpmath.mpf(yhat) - mpmath.mpf(y)) / c) ** 2) / 2
                  for yhat, y, c in points]
    kept = [(p, v) for p, v in zip(points, truths, strict=True) if abs(v) <= mpmath.mpf(BIG)]
    got = np.array([getattr(module, name)(np.array([yhat]), np.array([y]), c=c, reduction="none")[0]
                    for (yhat, y, c), _ in kept])
    _within_4_ulp(got, [v for _, v in kept])
