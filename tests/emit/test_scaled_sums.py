"""Sums whose terms overflow where the sum does not (issue 21): ``_scaled_sum`` takes each term as a mantissa and
a power of two (the exponent of e^z from z) and adds them at the largest power, applied last, where the plain sum
is not finite; a sum that is a co-factor of a scaled power passes its (mantissa, exponent) to the power's scale
(``_sum_parts``) instead of being rounded to inf."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from checkout_kernels import built
from ulps import ulps

from symloss.certify.localize import numerics
from symloss.emit.blocks import SCALED_SUM_REGIMES, Scaled, ScaledSum, scaled_exponential_regimes, scaled_sums
from symloss.emit.printer import KernelPrinter

ULP_BUDGET = 4.0


def _poisson_terms(z: np.ndarray, y: np.ndarray) -> tuple:
    """The terms of e^z − y·z for ``_scaled_sum``: (factors, exponents, divisors, weights) each."""
    return (((-1.0, y, z), (), (), ()), ((), (z,), (), ()))


@pytest.mark.parametrize("seed", [0, 1])
def test_exponential_minus_product_is_within_budget(seed: int) -> None:
    """e^z − y·z within 4 ulp of mpmath (±inf exactly where the truth overflows) at 400 random points with
    z in [650, 760] and |y| in [1e300, 1.8e308] (both terms near or past overflow, either dominating, either
    sign); the plain sum is inf − inf = NaN at many of them (checked, so that the test can fail)."""
    rng = np.random.default_rng(seed)
    count = 400
    z = rng.uniform(650, 760, count)
    y = rng.choice([-1.0, 1.0], count) * 10.0 ** rng.uniform(300, 308.25, count)
    with np.errstate(all="ignore"):
        plain = np.exp(z) - y * z
        got = numerics()._scaled_sum(plain, _poisson_terms(z, y))
    with mpmath.workprec(400):
        truths = [mpmath.exp(mpmath.mpf(a)) - mpmath.mpf(b) * mpmath.mpf(a) for a, b in zip(z, y, strict=True)]
    errors = [ulps(g, t) for g, t in zip(got, truths, strict=True)]
    assert max(errors) <= ULP_BUDGET, max(errors)
    assert np.count_nonzero(np.isnan(plain)) > 20
    assert np.isfinite(got).any() and np.isinf(got).any()


@pytest.mark.parametrize(("z", "y", "expected"), [
    (5.3855483657287036e160, 5.3855484124164205e160, np.inf),  # both overflow, e^z wins
    (710.0, 1e308, -np.inf),  # both overflow, y·z wins
    (-5.3855483657287036e160, -1e308, -np.inf),  # e^z = 0, y·z overflows
    (np.nan, 1.0, np.nan),
])
def test_exponential_minus_product_at_edges(z: float, y: float, expected: float) -> None:
    """The sign at overflow is the dominating term's; a NaN input stays NaN."""
    zs, ys = np.array([z]), np.array([y])
    with np.errstate(all="ignore"):
        got = numerics()._scaled_sum(np.exp(zs) - ys * zs, _poisson_terms(zs, ys))
    np.testing.assert_array_equal(got, [expected])


def test_terms_that_overflow_cancel_to_a_finite_sum() -> None:
    """a·b − c·d with a·b = 2^1030 (1 + 2^-40), c·d = 2^1030: both overflow, the sum is exactly 2^990; a term 2^70
    below the largest (2^960) is dropped, one 2^50 below kept."""
    a, b, c = np.array([2.0**515]), np.array([2.0**515 * (1 + 2.0**-40)]), np.array([2.0**515])
    terms = (((a, b), (), (), ()), ((-1.0, c, c), (), (), ()))
    with np.errstate(all="ignore"):
        plain = a * b - c * c
        got = numerics()._scaled_sum(plain, terms)
        with_small = numerics()._scaled_sum(plain, (*terms, (((2.0**480, 2.0**480), (), (), ()))))
        with_kept = numerics()._scaled_sum(plain, (*terms, (((2.0**490, 2.0**490), (), (), ()))))
    assert np.isnan(plain[0]) and got[0] == 2.0**990
    assert with_small[0] == 2.0**990 and with_kept[0] == 2.0**990 + 2.0**980


def test_finite_sums_are_the_plain_sum() -> None:
    """Where the plain sum is finite the helper returns it as given (the terms are not read)."""
    plain = np.array([1.5, -2.0])
    assert numerics()._scaled_sum(plain, ((((np.nan,)), (), (), ()),)) is plain


def test_sum_parts_scale_a_power() -> None:
    """_sum_parts as a co-factor of _exp_scaled: e^{-1000} (2^1000 · 2^100 − 2^1100 (1 − 2^-30)) = e^{-1000}
    2^1070 (the co-factor overflows, the product does not); a weight 0 makes its term 0 (0 · inf)."""
    big = np.array([2.0**1000])
    terms = (((big, 2.0**100), (), (), ()), ((-1.0, big, 2.0**100 * (1 - 2.0**-30)), (), (), ()))
    with np.errstate(all="ignore"):
        co_factor = big * 2.0**100 - big * (2.0**100 * (1 - 2.0**-30))
        parts = numerics()._sum_parts(co_factor, terms)
        got = numerics()._exp_scaled(np.array([-700.0]), times=(parts,))
        weighted = numerics()._sum_parts(np.array([np.nan]), (((0.0, np.array([np.inf])), (), (), (0.0,)),
                                                              ((3.0,), (), (), ())))
    with mpmath.workprec(400):
        truth = mpmath.exp(-700) * mpmath.mpf(2) ** 1070
    assert np.isnan(co_factor[0]) and ulps(got[0], truth) <= ULP_BUDGET
    assert np.ldexp(*weighted)[0] == 3.0


def _poisson_value(z: float, y: float) -> float:
    _, module = built("poisson_nll")
    with np.errstate(all="ignore"):
        return float(module.poisson_nll(np.array([z]), np.array([y]), reduction="none")[0])


def test_poisson_value_at_overflow() -> None:
    """poisson_nll e^z − y·z at z = y = 5.39e160 is inf (the kernel gave inf − inf = NaN), at z = 710, y = 1e308
    −inf (y·z wins), at z = 3, y = 2 within budget."""
    assert _poisson_value(5.3855483657287036e160, 5.3855484124164205e160) == np.inf
    assert _poisson_value(710.0, 1e308) == -np.inf
    with mpmath.workprec(200):
        assert ulps(_poisson_value(3.0, 2.0), mpmath.exp(3) - 6) <= ULP_BUDGET


def test_focal_gradient_co_factor_does_not_overflow() -> None:
    """focal's gradient γ(1 − p)^(γ−1) log p − (1 − p)^γ / p at p = 1.78e-304, y = 1, γ = 1.21e306 is −1.59e215
    (the kernel gave −inf: its co-factor −γ log p/(p − 1) − 1/p overflowed before the power scaled it)."""
    p, gamma = 1.777637651317388e-304, 1.214074873032933e306
    _, module = built("focal")
    with np.errstate(all="ignore"):
        got = float(module.focal_grad(np.array([p]), np.array([1.0]), gamma=gamma, reduction="none")[0])
    with mpmath.workprec(2000):
        mp, mg = mpmath.mpf(p), mpmath.mpf(gamma)
        truth = mg * (1 - mp) ** (mg - 1) * mpmath.log(mp) - (1 - mp) ** mg / mp
    assert ulps(got, truth) <= ULP_BUDGET, (got, float(truth))


def test_sums_with_exponential_terms_are_scaled() -> None:
    """e^z − y·z → ScaledSum; e^{min(x, 0)} + y (a sigmoid's exponential), x·y + 1 and e^z + 2 (one term not a
    number) are not; a co-factor's sum passes its parts (``_sum_parts``); the regimes name the helper."""
    z, y, x, p, g = sp.symbols("z y x p g")
    assert scaled_sums(sp.exp(z) - y * z) == ScaledSum(sp.exp(z) - y * z)
    for plain in (sp.exp(sp.Min(x, 0)) + y, x * y + 1, sp.exp(z) + 2):
        assert not scaled_sums(plain).atoms(ScaledSum)
    call, operands = Scaled(p**g, g * sp.log(p) - 1 / p).call()
    assert "times=(_sum_parts({a2}, (((" in call and operands[2] == g * sp.log(p) - 1 / p
    printed = ScaledSum(sp.exp(z) - y * z)._numpycode(KernelPrinter({}))
    assert printed.startswith("_scaled_sum(-y*z + np.exp(z), (") and "(z, )" in printed
    assert SCALED_SUM_REGIMES in scaled_exponential_regimes(sp.exp(z) - y * z)
    assert SCALED_SUM_REGIMES not in scaled_exponential_regimes(sp.exp(z) * y)
