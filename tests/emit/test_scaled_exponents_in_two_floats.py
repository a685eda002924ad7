"""Exponents and co-factors of a :class:`~symloss.emit.blocks.Scaled` product that are not rounded before the
exponential: a power :math:`x^{a + k}` with a number co-factor takes :math:`a + k` in two floats
(``_pow_scaled(x, *_two_sum(a, k))``), :math:`e^{u v}` takes :math:`u v` in two floats
(``_exp_product_scaled``), and a co-factor :math:`e^a - t` enters as a mantissa and a power of two
(``_exp_minus_parts``), so that :math:`e^{2500}(e^{-10000} - 0)` is :math:`e^{-7500}`, not :math:`\\infty \\cdot 0`."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from ulps import ulps

from symloss.certify.localize import numerics
from symloss.emit.arrays import ZeroWeighted
from symloss.emit.blocks import Scaled, Weight, scaled_exponential_regimes, scaled_primitives
from symloss.stabilize.primitives import exp_minus

ULP_BUDGET = 4.0


def test_a_shifted_power_with_a_number_co_factor_is_scaled() -> None:
    """:math:`-p^{q - 1}` is Scaled (its call takes q - 1 by TwoSum); :math:`-p^{q}` and :math:`2 e^x` stay
    NumPy's (a constant co-factor alone is one rounding)."""
    p, q, x = sp.symbols("p q x")
    scaled = scaled_primitives(-p ** (q - 1))
    assert isinstance(scaled, Scaled)
    assert scaled.call()[0].startswith("_pow_scaled({a0}, *_two_sum({a1}, {a2}), times=(")
    assert not scaled_primitives(-p**q).atoms(Scaled)
    assert not scaled_primitives(2 * sp.exp(x)).atoms(Scaled)


def test_an_exponent_product_is_taken_in_two_floats() -> None:
    """:math:`c e^{-t z}` calls ``_exp_product_scaled(-t, z, …)``; :math:`c e^{2 z}` and :math:`c e^{t + z}`
    keep ``_exp_scaled`` (a number times z, a sum)."""
    c, t, z = sp.symbols("c t z")
    text, operands = Scaled(sp.exp(-t * z), c).call()
    assert text.startswith("_exp_product_scaled({a0}, {a1}, times=(") and operands[:2] == [-t, z]
    assert Scaled(sp.exp(2 * z), c).call()[0].startswith("_exp_scaled(")
    assert Scaled(sp.exp(t + z), c).call()[0].startswith("_exp_scaled(")


@pytest.mark.parametrize(("u", "v"), [(1.0 - 2.0**-52, 460.3957245758071), (0.9999999999999998, -700.1),
                                      (1.7e-7 - 1.0, 1013.3), (3.3, -220.0)])
def test_exp_product_scaled_rounds_once(u: float, v: float) -> None:
    """e^{u v}·c within 4 ulp of mpmath where the rounded u v is not (checked, so that the test can fail at
    the first point: 59.5 ulp)."""
    c = 1e-100 if u * v > 0 else 1e100
    with np.errstate(all="ignore"):
        got = numerics()._exp_product_scaled(np.array([u]), np.array([v]), times=(np.array([c]),))[0]
    with mpmath.workprec(300):
        truth = mpmath.exp(mpmath.mpf(u) * mpmath.mpf(v)) * mpmath.mpf(c)
    assert ulps(got, truth) <= ULP_BUDGET, (u, v, got, float(truth))
    if u == 1.0 - 2.0**-52:
        assert ulps(numerics()._exp_scaled(np.array([u * v]), times=(np.array([c]),))[0], truth) > ULP_BUDGET


@pytest.mark.parametrize(("a", "t"), [(-10000.0, 0.0), (-800.0, 1e-300), (-750.0, 5e-324), (-2000.0, 1e-310),
                                      (-720.0, 1e-313), (3.0, 20.0), (1e-300, 1.0), (-1e7, 0.0), (-900.0, 0.0)])
def test_exp_minus_parts(a: float, t: float) -> None:
    """m 2^e = e^a - t within 2 ulp of m where e^a underflows (a co-factor of _times_scaled), the same value as
    _exp_minus where it does not; -t where e^a is below every float."""
    m, e = numerics()._exp_minus_parts(np.array([a]), np.array([t]))
    with mpmath.workprec(1200):  # e^{1e-300} - 1 needs 1000 bits
        truth = mpmath.exp(mpmath.mpf(a)) - mpmath.mpf(t)
        assert ulps(float(m[0]), truth / mpmath.mpf(2) ** int(e[0])) <= 2.0, (a, t, m, e)
    if a > -700.0:
        assert np.ldexp(m, e)[0] == numerics()._exp_minus(np.array([a]), np.array([t]))[0]


def test_exponential_times_exp_minus_is_not_nan() -> None:
    """e^{2500}·(e^{-10000} - 0) = e^{-7500}: 0, and e^{1000}(e^{-1700} - 0) = e^{-700} within 4 ulp (Tweedie's
    gradient at z = -10000, y = 0, p = 1.25 was NaN: e^{2500} overflowed, e^{-10000} underflowed)."""
    helpers = numerics()
    with np.errstate(all="ignore"):
        vanished = helpers._exp_scaled(np.array([2500.0]), times=(helpers._exp_minus_parts(-10000.0, 0.0),))
        small = helpers._exp_scaled(np.array([1000.0]), times=(helpers._exp_minus_parts(-1700.0, 0.0),))
    assert vanished[0] == 0.0
    with mpmath.workprec(200):
        assert ulps(small[0], mpmath.exp(-700)) <= ULP_BUDGET, small


def test_exp_minus_co_factor_is_called_as_parts_and_recorded() -> None:
    """Scaled(e^x, exp_minus(a, t)) calls ``_exp_minus_parts`` and its regimes are recorded."""
    x, a, t = sp.symbols("x a t")
    scaled = Scaled(sp.exp(x), exp_minus(a, t))
    assert "times=(_exp_minus_parts({a1}, {a2}), )" in scaled.call()[0]
    calls = [r.call for r in scaled_exponential_regimes(sp.exp(x) * exp_minus(a, t))]
    assert "_exp_minus_parts(a, t)" in calls


@pytest.mark.parametrize(("p", "a", "w"), [(2.5e299, -1e300, 0.0), (1000.0, -1700.0, 0.0), (2500.0, -10000.0, 0.0),
                                           (2.5e299, -1e300, 1.0), (3.0, 1.0, 2.0)])
def test_exp_minus_scaled_takes_the_joint_exponent_where_t_vanishes(p: float, a: float, w: float) -> None:
    """e^p (e^a - w) 3: e^{p + a} 3 where the weight w (t = w) is 0 (0 at p = 2.5e299, a = -1e300, not inf 0 =
    NaN: Tweedie's gradient at z = -1e300, y = 0), within 4 ulp of mpmath; as _exp_scaled with _exp_minus_parts
    elsewhere."""
    helpers = numerics()
    with np.errstate(all="ignore"):
        got = helpers._exp_minus_scaled(np.array([p]), np.array([a]), np.array([w]), (np.array([w]),),
                                        times=(np.array([3.0]),))[0]
        split = helpers._exp_scaled(np.array([p]), times=(helpers._exp_minus_parts(a, w), np.array([3.0])))[0]
    with mpmath.workprec(200):
        truth = mpmath.exp(mpmath.mpf(p)) * (mpmath.exp(mpmath.mpf(a)) - w) * 3
    if w == 0.0:
        assert not np.isnan(got)
        assert ulps(got, truth) <= ULP_BUDGET, (p, a, got)
    else:
        assert got == split or (np.isnan(got) and np.isnan(split))


def test_weighted_exp_minus_co_factor_calls_exp_minus_scaled_and_is_recorded() -> None:
    """Scaled(e^x, exp_minus(a, w e^b)) with w a weight of its t calls ``_exp_minus_scaled`` with (w,), and its
    regimes are recorded; an unweighted t keeps ``_exp_minus_parts``."""
    x, a, b, w = sp.symbols("x a b w")
    weighted = Scaled(sp.exp(x), exp_minus(a, Scaled(sp.exp(b), Weight(w))))
    assert weighted.call()[0].startswith("_exp_minus_scaled({a0}, {a1}, {a2}, ({a3}, )")
    assert weighted.call()[1][3] == w
    assert "_exp_minus_parts" in Scaled(sp.exp(x), exp_minus(a, sp.exp(b))).call()[0]
    calls = [r.call for r in scaled_exponential_regimes(
        sp.exp(x) * exp_minus(a, ZeroWeighted(w, sp.exp(b))))]
    assert any(c.startswith("_exp_minus_scaled") for c in calls)


@pytest.mark.parametrize(("p", "a", "w"), [(2500.0, -10000.0, 0.0), (200.0, -800.0, 0.0), (900.0, -1000.0, 0.0),
                                           (3.0, 1.0, 2.0), (200.0, -800.0, 1e-300)])
def test_exp_sum_scaled_spreads_e_p_over_terms_where_the_sum_is_not_normal(p: float, a: float, w: float) -> None:
    """e^p (0.75 e^a + w e^0) within 4 ulp of mpmath, not NaN: the plain sum 0 (0.75 e^{-800} underflowed) or
    subnormal, the terms e^p t_i each as a mantissa and a power of two (Tweedie's Hessian at z = -800, y = 0 was 0,
    at z = -10^4 NaN); a 0 term (w = 0, its exponent p larger than the other's) does not drop the other."""
    helpers = numerics()
    terms = (((0.75,), (np.array([a]),), (), ()), ((np.array([w]),), (np.array([0.0]),), (), (np.array([w]),)))
    with np.errstate(all="ignore"):
        plain = 0.75 * np.exp(np.array([a])) + w
        got = helpers._exp_sum_scaled(np.array([p]), plain, terms, times=(np.array([3.0]),))[0]
    with mpmath.workprec(200):
        truth = mpmath.exp(mpmath.mpf(p)) * (mpmath.mpf(0.75) * mpmath.exp(mpmath.mpf(a)) + w) * 3
    assert ulps(got, truth) <= ULP_BUDGET, (p, a, w, got, truth)


def test_co_factor_sum_of_a_plain_exponential_calls_exp_sum_scaled_and_is_recorded() -> None:
    """Scaled(e^x, e^a + b) calls ``_exp_sum_scaled`` and its regimes are recorded; a Scaled term is given by its
    exponent and co-factors, not its value."""
    x, a, b, w = sp.symbols("x a b w")
    call, operands = Scaled(sp.exp(x), Scaled(sp.exp(a), Weight(w)) + b).call()
    assert call.startswith("_exp_sum_scaled({a0}, {a1}, (((")
    assert a in operands and w in operands
    calls = [r.call for r in scaled_exponential_regimes(sp.exp(x) * (sp.exp(a) + b))]
    assert any(c.startswith("_exp_sum_scaled") for c in calls)


def test_a_shared_exponent_product_is_still_taken_in_two_floats() -> None:
    """:math:`w e^{-t z}` beside :math:`y e^{-t z - m}`: the common :math:`t z` is shared (the second exponent
    computes it once), but the first exponential still calls ``_exp_product_scaled(-t, z, …)`` (the shared
    product written back in), not ``_exp_scaled`` of the rounded :math:`-t z`."""
    from symloss.emit.blocks import kernel_code
    from symloss.emit.printer import KernelPrinter
    from symloss.emit.program import ENTRY

    t, m, w, y, z = sp.symbols("t m w y z")
    results = [("loss", w * sp.exp(-t * z)), ("grad", y * sp.exp(-t * z - m))]
    code = "\n".join(kernel_code(results, KernelPrinter({s: s.name for s in (t, m, w, y, z)}),
                                 {w: ENTRY, y: ENTRY, z: ENTRY, m: ENTRY}, "z", False))
    assert "_exp_product_scaled((-t), z" in code, code
    assert code.count("np.multiply(z, t") + code.count("np.multiply(t, z") == 1, code  # t z computed once
