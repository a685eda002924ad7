"""The kernels' _pow1p helper, (1 + t)^a = exp(a log1p(t)) with log1p and the product in double-double,
against mpmath: within 4 ulp (it measures under 1) on random points with t near 0, near -1 and huge,
a tiny and huge, |a log1p(t)| up to the float range's ends; its exact cases and limits as np.power's."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from ulps import ulps

from symloss.certify.localize import numerics

ULP_BUDGET = 4.0


def _truth(t: float, a: float) -> mpmath.mpf:
    with mpmath.workprec(400):
        return mpmath.exp(mpmath.mpf(a) * mpmath.log1p(mpmath.mpf(t)))


def _points(seed: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """t near 0 (down to subnormal), near -1, in the series range, negative, huge; a chosen so that
    a log1p(t) spreads over 1e-5 .. 740 (both signs), one in four a of any magnitude up to 1e308."""
    rng = np.random.default_rng(seed)
    ts, exponents = [], []
    while len(ts) < count:
        kind = rng.integers(5)
        t = (rng.uniform(-1, 1) * 10.0 ** rng.uniform(-320, 0) if kind == 0 else
             -1 + 10.0 ** rng.uniform(-16, -0.3) if kind == 1 else
             10.0 ** rng.uniform(-1, 300) if kind == 2 else
             rng.uniform(-0.3, 0.42) if kind == 3 else -(10.0 ** rng.uniform(-300, -0.2)))
        if t <= -1 or t == 0:
            continue
        log = float(mpmath.log1p(t))
        with np.errstate(over="ignore"):  # an a beyond the float range is skipped below
            a = rng.choice([-1, 1]) * 10.0 ** rng.uniform(-5, np.log10(740)) / log
        if rng.integers(4) == 0:
            a = rng.choice([-1, 1]) * 10.0 ** rng.uniform(-300, 308)
        if np.isfinite(a):
            ts.append(t)
            exponents.append(a)
    return np.array(ts), np.array(exponents)


@pytest.mark.parametrize("seed", [0, 1])
def test_pow1p_is_within_budget_on_random_points(seed: int) -> None:
    t, a = _points(seed, 1500)
    with np.errstate(all="ignore"):
        got = numerics()._pow1p(t, a)
    errors = [ulps(g, _truth(ti, ai)) for g, ti, ai in zip(got, t, a, strict=True)]
    worst = int(np.argmax(errors))
    assert errors[worst] <= ULP_BUDGET, (t[worst], a[worst], got[worst], errors[worst])


@pytest.mark.parametrize(
    ("t", "a"),
    [
        (-5.846111229619924e-230, 1.7976931348623157e308),  # the focal loss's point: 1 - p rounds to 1
        (-5.846111229619924e-230, 1e229),
        (5e-324, 1e308), (-5e-324, 1.7976931348623157e308),  # subnormal t, the largest a
        (2.0**-52, 745.0 * 2.0**52), (-(2.0**-53) - 2.0**-80, 1e18),  # 1 + t a float's neighbour
        (-1 + 2.0**-52, 0.5), (-0.9999999999999999, -20.0),  # t near -1
        (1e300, 2.3), (1e300, -2.3), (0.3, 1e-300), (-0.25, 2.5e-320),  # huge t, tiny a
        (0.41421356237309503, 1000.0), (-0.29289321881345254, -1000.0),  # the series range's ends
    ],
)
def test_pow1p_is_within_budget_at_hard_points(t: float, a: float) -> None:
    with np.errstate(all="ignore"):
        got = numerics()._pow1p(np.array([t]), a)[0]
    assert ulps(got, _truth(t, a)) <= ULP_BUDGET, (t, a, got, float(_truth(t, a)))


def test_pow1p_exact_cases_and_limits_are_np_powers() -> None:
    """1 at a = 0 (also for t = NaN) and at t = 0 (also for a = inf); 0 or inf at t = -1 and for an
    infinite a or t; NaN propagates; below t = -1 np.power's value (real only for an integer a)."""
    t = np.array([0.3, np.nan, 0.0, -1.0, -1.0, 0.5, 0.5, -0.5, np.inf, 0.3, -2.0, -2.0])
    a = np.array([0.0, 0.0, np.inf, 2.5, -2.5, np.inf, -np.inf, np.inf, 0.5, np.nan, 3.0, 0.5])
    with np.errstate(all="ignore"):
        got = numerics()._pow1p(t, a)
        expected = np.power(1.0 + t, a)
    np.testing.assert_array_equal(got, expected)


def test_pow1p_broadcasts_a_scalar_exponent() -> None:
    t = np.array([[0.25, -0.5], [3.0, 1e-20]])
    got = numerics()._pow1p(t, 1.5)
    assert got.shape == t.shape
    np.testing.assert_allclose(got, (1 + t) ** 1.5, rtol=4e-16)


@pytest.mark.parametrize("c", [126.64358390348153, 65.0, 70.5, 300.25, 1e4 + 0.3, 64.5, 8.0, 7.3, 1.5])
def test_sigmoid_pow_is_within_budget_at_large_exponents(c: float) -> None:
    """σ(x)^c for c >= 8 with its whole exponent c min(x, 0) - c log1p(e^{-|x|}) in two floats (f log1p(e^{-|x|})
    rounded into it was 28 ulp at c = 126.6, x = 0, and 659 at c = 1e4; σ(x)^64 from a rounded e^{-|x|}, 12);
    below 8 the split σ(x)^n σ(x)^f as before."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-5, 5, 200), [-5e-324, 0.0, 1e-300, -0.01, 0.01, 30.0, -30.0, 700.0]])
    with np.errstate(all="ignore"):
        got = numerics()._sigmoid_pow(x, c)
    with mpmath.workprec(300):
        errors = [ulps(g, mpmath.exp(-mpmath.mpf(c) * mpmath.log1p(mpmath.exp(-mpmath.mpf(xi)))))
                  for xi, g in zip(x, got, strict=True)]
    worst = int(np.argmax(errors))
    assert errors[worst] <= ULP_BUDGET, (c, x[worst], got[worst], errors[worst])
