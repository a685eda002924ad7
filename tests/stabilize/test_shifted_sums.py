"""exp_times_shifted_sum and exp_minus_over_constant_plus_exp: a factor holding e^a (A + B e^a, exp_minus(a, t))
divided by e^M, M = max(a - 700, 0) (a from 2^57 on), its e^M merged into the exponential it multiplies or
divided out of the denominator it sits over; their claims proved, false variants refuted, the rewrites at the sums
they match (and not elsewhere), and the kernels finite and within budget where e^z overflows but the result does not."""

from __future__ import annotations

from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from symloss.declare.catalog import load_catalog
from symloss.emit.codegen import load_generated
from symloss.prove.prover import prove
from symloss.stabilize.engine import ProvedRule, stabilize
from symloss.stabilize.exponentials import (
    EXP_MINUS_OVER_CONSTANT_PLUS_EXP,
    EXP_NEAR_ONE,
    EXP_TIMES_SHIFTED_SUM,
    EXPONENTIALS,
    _shift,
)
from symloss.stabilize.identities import C, a, claim, r, t, u, w
from symloss.stabilize.primitives import exp_minus

ULP_BUDGET = 4.0
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
z, y = sp.symbols("z y", real=True)
theta = sp.Symbol("theta", positive=True)
M = _shift(z)


@pytest.mark.parametrize("rule", [EXP_TIMES_SHIFTED_SUM, EXP_MINUS_OVER_CONSTANT_PLUS_EXP], ids=lambda r: r.name)
def test_claims_are_proved(rule: object) -> None:
    assert [prove(c).status for c in rule.claims] == ["proved"] * len(rule.claims)


@pytest.mark.parametrize(
    "false",
    [
        claim("e^M not merged: e^r (t + w e^a) = e^r (t e^(-u) + w e^(a - u))",
              sp.exp(r) * (t + w * sp.exp(a)), sp.exp(r) * (t * sp.exp(-u) + w * sp.exp(a - u))),
        claim("t not divided: e^r (e^a - t) = e^(r + u) (e^(a - u) - t)",
              sp.exp(r) * (sp.exp(a) - t), sp.exp(r + u) * (sp.exp(a - u) - t)),
        claim("C not divided: (e^a - t)/(C + e^a) = (e^(a - u) - t e^(-u))/(C + e^(a - u))",
              (sp.exp(a) - t) / (C + sp.exp(a)), (sp.exp(a - u) - t * sp.exp(-u)) / (C + sp.exp(a - u))),
        claim("e^(u - a) left out: (e^a - t)/(C + e^a) = (e^(a - u) - t e^(-u))/(1 + C e^(-a))",
              (sp.exp(a) - t) / (C + sp.exp(a)), (sp.exp(a - u) - t * sp.exp(-u)) / (1 + C * sp.exp(-a))),
    ],
    ids=lambda c: c.statement.split(":")[0],
)
def test_false_variants_are_not_proved(false: object) -> None:
    assert prove(false).status != "proved"


def _family() -> tuple[ProvedRule, ...]:
    """The family without exp_near_one, which splits a sum of two inputs near e^a = 1 that the shifts leave alone
    (tests/stabilize/test_exp_near_one.py)."""
    return tuple(ProvedRule(rule, tuple(prove(c) for c in rule.claims))
                 for rule in EXPONENTIALS if rule is not EXP_NEAR_ONE)


def _equal_at(before: sp.Expr, after: sp.Expr, point: dict[sp.Symbol, float]) -> bool:
    from symloss.declare.functions import to_elementary
    from symloss.stabilize.primitives import expand_primitives

    values = {s: sp.Float(v, 40) for s, v in point.items()}
    lhs = sp.N(to_elementary(expand_primitives(before)).xreplace(values), 40)
    rhs = sp.N(to_elementary(expand_primitives(after)).xreplace(values), 40)
    return abs(lhs - rhs) <= sp.Float("1e-30") * max(1, abs(lhs))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ((y - 2 * sp.exp(z)) * sp.exp(-2 * z), -2 * exp_minus(z - M, y / 2 * sp.exp(-M)) * sp.exp(-2 * z + M)),
        ((3 * y - 2 * sp.exp(z)) * sp.exp(-2 * z),
         (3 * y * sp.exp(-M) - 2 * sp.exp(z - M)) * sp.exp(-2 * z + M)),
        (sp.exp(-z) * exp_minus(z, y), sp.exp(-z + M) * exp_minus(z - M, y * sp.exp(-M))),
        (theta * exp_minus(z, y) / (theta + sp.exp(z)),
         sp.Piecewise((theta * sp.exp(M - z) * exp_minus(z - M, y * sp.exp(-M)) / (1 + theta * sp.exp(-z)),
                       z >= sp.log(theta)),
                      (exp_minus(z - M, y * sp.exp(-M)) / (sp.exp(-M) + sp.exp(z - M) / theta), True))),
    ],
)
def test_the_rules_rewrite(expr: sp.Expr, expected: sp.Expr) -> None:
    result = stabilize(expr, _family())
    assert result.expr == expected
    for point in ({z: 3.5, y: 0.7, theta: 2.0}, {z: -1.25, y: 4.0, theta: 0.5}):
        assert _equal_at(expr, result.expr, point)


@pytest.mark.parametrize(
    "expr",
    [
        (sp.exp(z) - y) * sp.exp(-2 * z),  # e^a - t: exp_minus_variable's, shifted once it is exp_minus
        (y - 2 * sp.exp(-sp.Abs(z))) * sp.exp(-2 * z),  # e^a cannot overflow (a <= 0): M = 0
        y - 2 * sp.exp(z),  # no exponential to merge e^M into: the sum overflows where its value does
        (y + z * sp.exp(z)) * sp.exp(-z),  # B = z holds a's variable: z e^{z - M} overflows where z does not
    ],
)
def test_what_the_rules_leave_alone(expr: sp.Expr) -> None:
    assert stabilize(expr, _family()).expr == expr


# ------------------------------------------------------------------------------ kernels


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples' tweedie, inverse Gaussian and negative binomial kernels from this checkout's engine."""
    from symloss.pipeline import build_kernels, derive_all, write_kernels

    folder = tmp_path_factory.mktemp("kernels")
    losses = load_catalog(EXAMPLES).select(["tweedie", "inverse_gaussian_nll", "negative_binomial_nll"])
    write_kernels(build_kernels(derive_all(losses, workers=1), certify=False), folder)
    return folder


def _within_budget(got: np.ndarray, want: list[mpmath.mpf]) -> None:
    for computed, true in zip(got, want, strict=True):
        assert np.isfinite(computed), (computed, true)
        if abs(true) >= np.finfo(np.float64).tiny:
            spacing = mpmath.mpf(float(np.spacing(abs(float(true)))))
            assert abs(mpmath.mpf(float(computed)) - true) / spacing <= ULP_BUDGET, (computed, true)
        else:
            assert abs(computed - float(true)) <= 4 * np.finfo(np.float64).smallest_subnormal, (computed, true)


Z = np.array([710.0, 720.0, 900.0, 0.3, -2.5, 1e-10])


def test_tweedie_derivatives_where_e_z_overflows(kernels: Path) -> None:
    """e^{(1-p)z}(e^z - y) was inf at z = 710, p = 1.25 (truth 1.8e231); the Hessian
    e^{(1-p)z}((p - 1)(y - e^z) + e^z) was NaN."""
    module = load_generated(kernels, "tweedie")
    counts = np.array([0.0, 3.0, 0.0, 1.0, 2.0, 1.0])
    p = mpmath.mpf(1.25)
    with mpmath.workdps(60):
        xs = [(mpmath.mpf(float(v)), mpmath.mpf(float(n))) for v, n in zip(Z, counts, strict=True)]
        _within_budget(module.tweedie_grad(Z, counts, p=1.25, reduction="none"),
                       [mpmath.exp((1 - p) * x) * (mpmath.exp(x) - n) for x, n in xs])
        _within_budget(module.tweedie_hess(Z, counts, p=1.25, reduction="none"),
                       [mpmath.exp((1 - p) * x) * ((p - 1) * (n - mpmath.exp(x)) + mpmath.exp(x)) for x, n in xs])


def test_inverse_gaussian_where_e_z_overflows(kernels: Path) -> None:
    """(y - 2e^z)e^{-2z} was inf · 0 = NaN at z = 710 (truth -8.95e-309, subnormal)."""
    module = load_generated(kernels, "inverse_gaussian_nll")
    targets = np.array([1e-300, 1.0, 3.0, 2.0, 0.5, 1.0])
    with mpmath.workdps(60):
        xs = [(mpmath.mpf(float(v)), mpmath.mpf(float(n))) for v, n in zip(Z, targets, strict=True)]
        _within_budget(module.inverse_gaussian_nll(Z, targets, reduction="none"),
                       [(n - 2 * mpmath.exp(x)) * mpmath.exp(-2 * x) for x, n in xs])
        _within_budget(module.inverse_gaussian_nll_grad(Z, targets, reduction="none"),
                       [(2 * mpmath.exp(x) - 2 * n) * mpmath.exp(-2 * x) for x, n in xs])
        _within_budget(module.inverse_gaussian_nll_hess(Z, targets, reduction="none"),
                       [2 * (2 * n - mpmath.exp(x)) * mpmath.exp(-2 * x) for x, n in xs])


def test_negative_binomial_gradient_where_e_z_overflows(kernels: Path) -> None:
    """θ(e^z - y)/(θ + e^z) was inf/inf at z = 710 (truth θ); near y = 1, z = 1e-10 exp_minus keeps its digits."""
    module = load_generated(kernels, "negative_binomial_nll")
    counts = np.array([0.0, 3.0, 0.0, 1.0, 2.0, 1.0])
    with mpmath.workdps(60):
        for dispersion in (1.0, 2.5):
            powers = [(mpmath.exp(mpmath.mpf(float(x))), n) for x, n in zip(Z, counts, strict=True)]
            want = [dispersion * (e - n) / (dispersion + e) for e, n in powers]
            _within_budget(module.negative_binomial_nll_grad(Z, counts, theta=dispersion, reduction="none"), want)


def test_negative_binomial_gradient_where_the_dispersion_is_tiny(kernels: Path) -> None:
    """θ(e^z - y)/(θ + e^z) at θ = 5e-324 was (e^z - y)/(θ + e^z) = -inf first, times θ (truth -y): the quotient is
    taken with its denominator divided by its larger term, in [1, 2], (e^z - y)/(1 + e^z/θ) where e^z < θ."""
    module = load_generated(kernels, "negative_binomial_nll")
    points = [(-2.318509592876981e187, 1133327715.0, 5e-324), (-800.0, 3.0, 1e-320), (-700.0, 5.0, 1e-300),
              (-690.0, 2.0, 1e-300), (5.0, 1e9, 1e-300)]
    with mpmath.workdps(60):
        for x, n, dispersion in points:
            e = mpmath.exp(mpmath.mpf(x))
            want = mpmath.mpf(dispersion) * (e - n) / (mpmath.mpf(dispersion) + e)
            got = module.negative_binomial_nll_grad(np.array([x]), np.array([n]), theta=dispersion, reduction="none")
            _within_budget(got, [want])


@pytest.mark.parametrize(
    ("a_", "t_"),
    [(1e-300, 1.0), (3.0, 20.0), (3.0, 20.09), (710.0, 0.0), (710.0, 1.7e308), (709.9, 1e308), (-699.0, 1e-300),
     (-1.25, 0.2865), (40.0, 2.35e17), (1e-10, 0.5), (-720.0, 0.0), (1400.0, 5.0), (2.0, -3.0)],
)
def test_exp_minus_helper_within_budget(kernels: Path, a_: float, t_: float) -> None:
    """e^a - t from e^a in two floats: within 4 ulp where the cancellation is below 2^10 (e^3 - 20 was 17 ulp off
    as exp(3) - 20), finite for a > 709 where e^a is not, inf where the difference itself overflows."""
    numerics = load_generated(kernels, "_numerics")
    got = float(numerics._exp_minus(np.array([a_]), np.array([t_]))[0])
    with mpmath.workdps(800):
        true = mpmath.exp(mpmath.mpf(a_)) - mpmath.mpf(t_)
        if abs(true) > np.finfo(np.float64).max:
            assert got == np.inf
        else:
            _within_budget(np.array([got]), [true])
