"""A square ratio q = ((x + y)/c)² in two floats where it feeds an exponential e^{Kq} (which multiplies q's rounding
by |K| q) or a sum A + Bq that cancels (1 − 2q at q ≈ 1/2): ``_square_ratio_parts``, ``_exp_square_ratio`` and
``_affine_square_ratio``, and the emitter's :func:`square_ratios_in_two_floats` that calls them."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from ulps import ulps

from symloss.certify.localize import numerics
from symloss.emit.arrays import ZeroWeighted
from symloss.emit.blocks import (
    SCALED_EXPONENTIAL_REGIMES,
    AffineSquareRatio,
    ExpSquareRatio,
    Scaled,
    Weight,
    scaled_exponential_regimes,
    scaled_primitives,
    square_ratios_in_two_floats,
)
from symloss.emit.printer import KernelPrinter
from symloss.stabilize.primitives import square_ratio_of_sum

ULP_BUDGET = 4.0
x, y = sp.symbols("x y", real=True)
c = sp.Symbol("c", positive=True)
q = square_ratio_of_sum(x, -y, c)


def _points(seed: int, low: float, high: float, count: int = 300) -> list[tuple[float, float, float]]:
    """(x, y, c) with c over the float range and the ratio |(x − y)/c| drawn in [low, high]."""
    rng = np.random.default_rng(seed)
    points = []
    while len(points) < count:
        scale = 10.0 ** rng.uniform(-300, 300)
        ratio = rng.uniform(low, high) * rng.choice([-1.0, 1.0])
        first = float(ratio * scale * rng.uniform(0.5, 2.0))
        second = first - ratio * scale
        if np.isfinite(second):
            points.append((first, float(second), scale))
    return points


def _ratio(first: float, second: float, scale: float) -> mpmath.mpf:
    return ((mpmath.mpf(first) - mpmath.mpf(second)) / mpmath.mpf(scale)) ** 2


@pytest.mark.parametrize("seed", [0, 1])
def test_the_square_ratio_in_two_floats_is_within_2_to_the_minus_100(seed: int) -> None:
    for first, second, scale in _points(seed, 1e-3, 50.0):
        high, low = numerics()._square_ratio_parts(np.array([first]), np.array([-second]), scale)
        with mpmath.workdps(60):
            truth = _ratio(first, second, scale)
            assert abs((mpmath.mpf(high[0]) + mpmath.mpf(low[0]) - truth) / truth) < mpmath.mpf(2) ** -100


@pytest.mark.parametrize("seed", [0, 1])
def test_a_residual_times_its_gaussian_weight_is_within_budget_where_the_weight_underflows(seed: int) -> None:
    """r e^{−q} at q up to 1500: e^{−q} alone is 0 below 7.4e-324 (q > 745) and 770 ulp off at q = 770 from q's
    rounding; the product is normal for r up to 1e308."""
    worst = 0.0
    for first, second, scale in _points(seed, 20.0, 38.0):
        residual = np.array([first]) - np.array([second])
        got = numerics()._exp_square_ratio(np.array([first]), np.array([-second]), scale, -1.0,
                                           weights=(residual,))[0]
        with mpmath.workdps(60):
            truth = (mpmath.mpf(first) - mpmath.mpf(second)) * mpmath.exp(-_ratio(first, second, scale))
        worst = max(worst, ulps(got, truth))
    assert worst <= ULP_BUDGET


def test_the_plain_exponential_of_the_rounded_ratio_is_over_budget_there() -> None:
    """The test above could fail: np.exp of the rounded q at q ≈ 770, times r, is 0 or far off."""
    first, second, scale = -2.673754403280979e217, 2.156850156170077e-62, 9.640354573049244e215
    plain = (first - second) * np.exp(-numerics()._square_ratio_of_sum(np.array([first]), np.array([-second]),
                                                                         scale))[0]
    with mpmath.workdps(60):
        truth = (mpmath.mpf(first) - mpmath.mpf(second)) * mpmath.exp(-_ratio(first, second, scale))
    assert ulps(plain, truth) > 1e6
    got = numerics()._exp_square_ratio(np.array([first]), np.array([-second]), scale, -1.0,
                                       weights=(np.array([first - second]),))[0]
    assert ulps(got, truth) <= ULP_BUDGET


@pytest.mark.parametrize("seed", [0, 1])
def test_one_minus_twice_the_ratio_is_within_budget_where_it_cancels(seed: int) -> None:
    worst_two_floats, worst_rounded = 0.0, 0.0
    for first, second, scale in _points(seed, 0.7071, 0.7072):
        got = numerics()._affine_square_ratio(np.array([first]), np.array([-second]), scale, 1.0, -2.0)
        rounded = 1.0 - 2.0 * numerics()._square_ratio_of_sum(np.array([first]), np.array([-second]), scale)
        with mpmath.workdps(60):
            truth = 1 - 2 * _ratio(first, second, scale)
        worst_two_floats = max(worst_two_floats, ulps(got[0], truth))
        worst_rounded = max(worst_rounded, ulps(rounded[0], truth))
    assert worst_two_floats <= ULP_BUDGET < worst_rounded


def test_an_exponential_and_a_sum_of_the_ratio_are_carried_in_two_floats() -> None:
    expr = (1 - 2 * q) * sp.exp(-q) + sp.exp(-q / 2) + sp.exp(q + x)
    converted = square_ratios_in_two_floats(expr)
    assert converted.atoms(ExpSquareRatio) == {ExpSquareRatio(-1, x, -y, c),
                                               ExpSquareRatio(sp.Rational(-1, 2), x, -y, c)}
    assert converted.atoms(AffineSquareRatio) == {AffineSquareRatio(1, -2, x, -y, c)}
    assert sp.exp(q + x) in converted.atoms(sp.exp)  # not K q
    for other in (sp.log(q + x), sp.log(2 + q * x), sp.log(2 + q + x)):  # not A + B q
        assert square_ratios_in_two_floats(other) == other
    constant = square_ratios_in_two_floats(sp.exp(-square_ratio_of_sum(x, sp.Rational(1, 3), c)))
    text = KernelPrinter({}).doprint(constant)
    assert text.startswith("_exp_square_ratio(x, 0.3333333333333333, c, -1.0, 0.0, y_low=")


def test_a_zero_weighted_exponential_alone_is_a_scaled_product_and_its_regimes_are_recorded() -> None:
    r = x - y
    mark = ZeroWeighted(r, ExpSquareRatio(-1, x, -y, c))
    assert scaled_primitives(mark) == Scaled(ExpSquareRatio(-1, x, -y, c), Weight(r))
    assert scaled_primitives(ZeroWeighted(r, sp.exp(-x))) == Scaled(sp.exp(-x), Weight(r))
    regimes = scaled_exponential_regimes((1 - 2 * q) * sp.exp(-q) / c**0)
    assert regimes == (SCALED_EXPONENTIAL_REGIMES[ExpSquareRatio], SCALED_EXPONENTIAL_REGIMES[AffineSquareRatio],
                       SCALED_EXPONENTIAL_REGIMES[sp.exp])
    assert scaled_exponential_regimes(1 - 2 * q) == (SCALED_EXPONENTIAL_REGIMES[AffineSquareRatio],)
