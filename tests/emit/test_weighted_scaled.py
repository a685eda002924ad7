"""Weights and sigmoid powers inside the scaled product: a mark w·v (``ZeroWeighted``) of a scaled product v
(``Scaled``) takes w in as a co-factor that wins when 0 (``weights=(w,)``), so that γ·p^(γ−1) at
γ = p = 2^-1074 is 1, not γ·∞ = ∞; and σ(x)^c (``sigmoid_pow``) takes co-factors like ``_pow_scaled``, so that
(sum)·σ(x)^c is 0 where σ(x)^c vanishes and the sum overflowed on its own, not ∞·0 = NaN."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from checkout_kernels import built
from ulps import ulps

from symloss.certify.localize import numerics
from symloss.emit.arrays import ZeroWeighted
from symloss.emit.blocks import Scaled, Weight, scaled_primitives
from symloss.stabilize.primitives import sigmoid_pow

ULP_BUDGET = 4.0


def _sigmoid_power(x: float, c: float) -> mpmath.mpf:
    """σ(x)^c = e^{−c·log1p(e^{−x})}."""
    return mpmath.exp(-mpmath.mpf(c) * mpmath.log1p(mpmath.exp(-mpmath.mpf(x))))


def test_a_weight_scales_the_power_before_its_powers_of_two() -> None:
    """γ·p^(γ−1)·s at γ = p = 2^-1074, s = 1 is 1 within budget (p^(γ−1) = 2^1074 overflows alone: weighted
    outside the product, as ``_zero_weighted`` did, it is inf)."""
    p = gamma = 5e-324
    with np.errstate(all="ignore"):
        got = numerics()._pow_scaled(np.array([p]), gamma - 1.0, times=(np.array([1.0]),),
                                     weights=(np.array([gamma]),))[0]
        outside = numerics()._zero_weighted(gamma, numerics()._pow_scaled(np.array([p]), gamma - 1.0,
                                                                           times=(np.array([1.0]),)))[0]
    with mpmath.workprec(400):
        truth = mpmath.mpf(gamma) * mpmath.mpf(p) ** (mpmath.mpf(gamma) - 1)
    assert ulps(got, truth) <= ULP_BUDGET, (got, float(truth))
    assert np.isinf(outside)


def test_a_zero_weight_wins_and_a_nonzero_one_does_not() -> None:
    """A weight 0 times an infinite rest (a power beyond every reach, an overflowed co-factor) is 0; the same
    rest with a weight 1 stays inf or NaN (the weight is not a mask), and 0 times a finite rest is 0."""
    rest = np.array([np.inf, 3.0, np.inf])
    with np.errstate(all="ignore"):
        zero = numerics()._exp_scaled(np.array([2000.0, 1.0, 1.0]), times=(rest,), weights=(np.zeros(3),))
        one = numerics()._exp_scaled(np.array([2000.0, 1.0, -3000.0]), times=(np.array([-np.inf, 3.0, np.nan]),),
                                     weights=(np.ones(3),))
    np.testing.assert_array_equal(zero, [0.0, 0.0, 0.0])
    assert one[0] == -np.inf and one[1] == pytest.approx(3.0 * np.e, rel=1e-15) and np.isnan(one[2])


@pytest.mark.parametrize("c", [0.0, 0.5, 2.0, 2.5, 7.3, 9.5, 126.6])
def test_sigmoid_pow_with_co_factors_is_within_budget(c: float) -> None:
    """σ(x)^c·c_1/d_1 within 4 ulp of mpmath at 300 points, c·x from −900 to 900 and co-factors of magnitude
    1e-300 .. 1e300 (the product spans underflow, subnormals, normals, overflow); the plain product of
    σ(x)^c and the co-factors is off by more than 4 ulp at some of them (checked, so that the test can fail)."""
    rng = np.random.default_rng(7)
    count = 300
    x = rng.uniform(-900, 900, count) / max(c, 1.0)
    c1 = rng.choice([-1.0, 1.0], count) * 10.0 ** rng.uniform(-300, 300, count)
    d1 = 10.0 ** rng.uniform(-300, 300, count)
    with np.errstate(all="ignore"):
        got = numerics()._sigmoid_pow(x, c, times=(c1,), over=(d1,))
        plain = numerics()._sigmoid_pow(x, c) * c1 / d1
    with mpmath.workprec(400):
        truths = [_sigmoid_power(xi, c) * mpmath.mpf(a) / mpmath.mpf(b) for xi, a, b in zip(x, c1, d1, strict=True)]
    errors = [ulps(g, t) for g, t in zip(got, truths, strict=True)]
    worst = int(np.argmax(errors))
    assert errors[worst] <= ULP_BUDGET, (c, x[worst], got[worst], float(truths[worst]), errors[worst])
    if c > 0.0:
        assert sum(ulps(g, t) > ULP_BUDGET for g, t in zip(plain, truths, strict=True)) > 5


def test_a_vanishing_sigmoid_power_times_an_overflowed_co_factor_is_zero() -> None:
    """σ(0)^c at c = 1.65e253 (2^-c) times inf (a sum that overflowed on its own) is 0, not NaN; σ(3)^2.5 times inf
    (a power in reach) stays inf; a weight 0 wins over a NaN rest."""
    with np.errstate(all="ignore"):
        got = numerics()._sigmoid_pow(np.array([0.0, 3.0]), 1.6531244264218205e253, times=(np.array([np.inf] * 2),))
        reach = numerics()._sigmoid_pow(np.array([3.0]), 2.5, times=(np.array([np.inf]),))
        weighted = numerics()._sigmoid_pow(np.array([3.0]), 2.5, times=(np.array([np.nan]),),
                                           weights=(np.array([0.0]),))
    np.testing.assert_array_equal(got, [0.0, 0.0])
    assert np.isinf(reach[0]) and weighted[0] == 0.0


def test_marks_and_sigmoid_powers_are_scaled_products() -> None:
    """w·(p^(g−1)·(a + b)) marked → Scaled(p^(g−1), a + b, Weight(w)), its call ``…, weights=(…))``; a mark of a
    product that is not scaled (w·log p) stays a mark; (a + b)·σ(z)^g → Scaled(sigmoid_pow(z, g), a + b),
    ``_sigmoid_pow(z, g, times=(…))``."""
    p, g, w, a, b, z = sp.symbols("p g w a b z")
    marked = scaled_primitives(ZeroWeighted(w, p ** (g - 1) * (a + b)) + ZeroWeighted(w, sp.log(p)))
    assert marked.atoms(Scaled) == {Scaled(p ** (g - 1), a + b, Weight(w))}
    assert marked.atoms(ZeroWeighted) == {ZeroWeighted(w, sp.log(p))}
    call, operands = Scaled(p ** (g - 1), a + b, Weight(w)).call()
    assert call.endswith(f", weights=({{a{len(operands) - 1}}}, ))") and operands[-1] == w
    powered = scaled_primitives((a + b) * sigmoid_pow(z, g))
    assert powered == Scaled(sigmoid_pow(z, g), a + b)
    assert powered.call()[0].startswith("_sigmoid_pow({a0}, {a1}, times=(")


def test_focal_hessians_at_the_points_that_failed() -> None:
    """focal's Hessian at p = γ = 5e-324, y = 0 is 2 (was inf: γ·p^(γ−1) with p^(γ−1) overflowed);
    focal_with_logits's at z = −5e-324, y = 1, γ = 1.65e253 is 0 (was NaN: the sum γ²·… overflowed, σ^γ = 0)."""
    _, focal = built("focal")
    _, with_logits = built("focal_with_logits")
    with np.errstate(all="ignore"):
        hess = focal.focal_hess(np.array([5e-324]), np.array([0.0]), gamma=5e-324, reduction="none")[0]
        logits = with_logits.focal_with_logits_hess(np.array([-5e-324]), np.array([1.0]),
                                                    gamma=1.6531244264218205e253, reduction="none")[0]
    assert ulps(hess, mpmath.mpf(2)) <= ULP_BUDGET, hess
    assert logits == 0.0


def test_a_power_with_an_integer_shift_takes_its_exponent_in_two_floats() -> None:
    """p^(γ−1) at p = 1.26e-223, γ = 2.89e-14: ``_pow_scaled(p, *_two_sum(γ, −1))`` is within budget, the rounded
    exponent γ − 1 (its error 2^-54 times log p = −513) is not; x^(g − 1)·c is printed with the two-float exponent,
    x^g·c and a lone x^(g − 1) without."""
    p, gamma = 1.2593064436184044e-223, 2.891501870308543e-14
    helpers = numerics()
    with np.errstate(all="ignore"):
        split = helpers._pow_scaled(np.array([p]), *helpers._two_sum(gamma, -1.0), times=(np.array([3.0]),))[0]
        rounded = helpers._pow_scaled(np.array([p]), gamma - 1.0, times=(np.array([3.0]),))[0]
    with mpmath.workprec(400):
        truth = 3 * mpmath.mpf(p) ** (mpmath.mpf(gamma) - 1)
    assert ulps(split, truth) <= 1.0 and ulps(rounded, truth) > ULP_BUDGET, (split, rounded, float(truth))
    x, g, c = sp.symbols("x g c")
    assert Scaled(x ** (g - 1), c).call()[0].startswith("_pow_scaled({a0}, *_two_sum({a1}, {a2}), times=(")
    assert Scaled(x**g, c).call()[0].startswith("_pow_scaled({a0}, {a1}, times=(")


def test_focal_hessian_where_gamma_minus_one_rounds() -> None:
    """focal's Hessian at p = 1.26e-223, y = 0, γ = 2.89e-14 is within budget of mpmath (was 158 ulp)."""
    p, gamma = 1.2593064436184044e-223, 2.891501870308543e-14
    _, focal = built("focal")
    with np.errstate(all="ignore"):
        got = focal.focal_hess(np.array([p]), np.array([0.0]), gamma=gamma, reduction="none")[0]
    with mpmath.workprec(400):
        pm, gm = mpmath.mpf(p), mpmath.mpf(gamma)
        truth = pm**gm / (1 - pm) ** 2 + gm * pm ** (gm - 1) * (2 / (1 - pm) - (gm - 1) * mpmath.log1p(-pm) / pm)
    assert ulps(got, truth) <= ULP_BUDGET, (got, float(truth))


def test_a_co_factor_sum_beyond_every_float_widens_the_clip() -> None:
    """σ(x)σ(−x)·(1 − γx + 2γ) at x = γ = 1.8e308 (the sum's parts m·2^2047, _sum_parts) is −0: the clip of x
    at 1400 + 710 for one co-factor let the sum's 2^2047 scale e^-2110 back to −1.4e-300; a sum in reach keeps
    its value (σ(3)σ(−3)·(1 − 3γ + 2γ) at γ = 2)."""
    helpers = numerics()
    big = 1.7976931348623157e308
    x = np.array([big, 3.0])
    gamma = np.array([big, 2.0])
    with np.errstate(all="ignore"):
        plain = 1.0 - gamma * x + 2.0 * gamma
        terms = (((1.0,), (), (), ()), ((2.0, gamma), (), (), ()), ((-1.0, x, gamma), (), (), ()))
        got = helpers._sigmoid_powers(x, 1, 1, times=(helpers._sum_parts(plain, terms),))
    assert got[0] == 0.0
    s = 1 / (1 + np.exp(-3.0))
    assert got[1] == pytest.approx(s * (1 - s) * (1 - 6.0 + 4.0), rel=1e-15)


def test_focal_hessian_where_gamma_minus_one_meets_log1p() -> None:
    """focal's Hessian at p = 1 − 2^-53, y = 1, γ = 0.275: (1 − p)^(γ−1) as ``_pow1p(−p, *_two_sum(γ, −1))`` is
    within budget (γ − 1 rounded, times log1p(−p) = −36.7, was 14.4 ulp)."""
    p, gamma = 0.9999999999999999, 0.2753918103575374
    _, focal = built("focal")
    with np.errstate(all="ignore"):
        got = focal.focal_hess(np.array([p]), np.array([1.0]), gamma=gamma, reduction="none")[0]
    with mpmath.workprec(400):
        pm, gm = mpmath.mpf(p), mpmath.mpf(gamma)
        q = 1 - pm
        truth = (-gm * (gm - 1) * mpmath.log(pm) / q + 2 * gm / pm) * q ** (gm - 1) + q**gm / pm**2
    assert ulps(got, truth) <= ULP_BUDGET, (got, float(truth))
