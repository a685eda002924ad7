"""a − b log(u/v) with the logs in two floats (``difference_with_log_ratio``), k log1p(c e^-a) with k taken into a
tiny scaled exponential (``log_sum_minus_exponent``'s times_log1p_exp) and the shift M of e^{a - M} bounded for
every float a (``exp_times_shifted_sum``, ``exp_minus_over_constant_plus_exp``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from ulps import ulps

from symloss.emit.codegen import load_generated, render_package
from symloss.prove.prover import prove
from symloss.stabilize.exact_sums import exact_terms
from symloss.stabilize.exponentials import LOG_SUM_MINUS_EXPONENT, SHIFT_WHOLE, _shift, times_log1p_exp
from symloss.stabilize.identities import C, P, Q, a, b, claim, t
from symloss.stabilize.log_products import LOG_PRODUCTS, minus_log_ratio
from symloss.stabilize.primitives import expand_primitives

RATIO = {rule.name: rule for rule in LOG_PRODUCTS}["difference_with_log_ratio"]


def test_the_log_ratio_claim_is_proved_and_the_sample_is_rewritten_to_an_equal_expression() -> None:
    assert [prove(c, budget=20.0).status for c in RATIO.claims] == ["proved"]
    rewritten = RATIO.rewrite(RATIO.sample)
    assert isinstance(rewritten, minus_log_ratio)
    difference = expand_primitives(rewritten) - expand_primitives(RATIO.sample)
    assert abs(difference.subs({t: 0.3, b: 1.7, C: 2.5, P: 0.25})) < 1e-14


def test_the_tiny_tail_claim_is_proved() -> None:
    (tiny,) = [c for c in LOG_SUM_MINUS_EXPONENT.claims if "tiny" in c.statement]
    assert prove(tiny, budget=20.0).status == "proved"


FALSE_VARIANTS = [
    ("the log of a quotient as the quotient of the logs", a - b * sp.log(P / Q), a - b * sp.log(P) / sp.log(Q)),
    ("the denominator's log added", a - b * sp.log(P / Q), a - b * (sp.log(P) + sp.log(Q))),
    ("log1p over exprel of x itself", sp.log(1 + C * sp.exp(-a)),
     C * sp.exp(-a) / ((sp.exp(C * sp.exp(-a)) - 1) / (C * sp.exp(-a)))),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), FALSE_VARIANTS, ids=[v[0] for v in FALSE_VARIANTS])
def test_a_false_variant_is_refuted(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    assert prove(claim(statement, lhs, rhs), budget=20.0).status == "refuted"


def test_a_difference_with_a_log_ratio_is_taken_only_of_exact_sums() -> None:
    y, yhat = sp.symbols("y yhat", nonnegative=True)
    mu = sp.Symbol("mu", positive=True)
    s = sp.Symbol("s", real=True)
    rewrite = RATIO.rewrite
    one = exact_terms(yhat + 1)[1]
    assert rewrite(1 - sp.log((yhat + 1) / (y + 1))) == minus_log_ratio(1, 1, yhat, one, y, one)
    assert rewrite(2 * (1 - sp.log((yhat + 1) / (y + 1))) / (yhat + 1) ** 2) == (
        minus_log_ratio(2, 2, yhat, one, y, one) / (yhat + 1) ** 2)
    assert rewrite(t + y * sp.log(mu / (y + mu))) == minus_log_ratio(t, -y, mu, 0, y, mu)
    assert rewrite(2 - 2 * sp.log(yhat + 1) + 2 * sp.log(y + 1)) == minus_log_ratio(2, 2, yhat, one, y, one)
    assert rewrite(2 - 2 * sp.log(yhat + 1) + 3 * sp.log(y + 1)) == 2 - 2 * sp.log(yhat + 1) + 3 * sp.log(y + 1)
    for unchanged in (1 - sp.log((yhat**2 + 1) / (y + 1)),  # a square: not an exact sum
                      1 - sp.log((yhat + y + 1) / (y + 1)),  # three terms
                      sp.Rational(1, 3) - sp.log((yhat + 1) / (y + 1)),  # a rounded constant
                      1 - sp.log((s + 1) / (y + 1)),  # a quotient of unknown sign
                      1 - sp.log(mu)):  # no quotient: difference_with_log_product's
        assert rewrite(unchanged) == unchanged


def test_the_shift_is_the_whole_exponent_from_2_57_on() -> None:
    x = sp.Symbol("x", real=True)
    shift = _shift(x)
    assert shift.subs(x, 800) == 100 and shift.subs(x, 3) == 0 and shift.subs(x, SHIFT_WHOLE) == SHIFT_WHOLE
    assert _shift(-sp.Abs(x)) == 0  # e^a <= 1 known: nothing to take out


@pytest.fixture(scope="module")
def numerics():
    folder = Path(tempfile.mkdtemp(prefix="symloss-log-ratio-"))
    for file, text in render_package(["mse"]).items():
        (folder / file).write_text(text)
    return load_generated(folder, "_numerics")


def test_a_minus_the_shift_is_at_most_708_for_every_float(numerics) -> None:
    """The kernel's M (np.select of the Piecewise) at floats near every binade from 2^9 to 2^1023: a - M exact
    (Sterbenz) and at most 708, so that e^{a - M} is finite; the plain fl(a - 700) exceeded 709.78 above 2^57."""
    x = sp.Symbol("x", real=True)
    shift = sp.lambdify(x, _shift(x), "numpy")
    rng = np.random.default_rng(3)
    a_ = np.ldexp(rng.uniform(1.0, 2.0, 20000), rng.integers(9, 1024, 20000))
    gap = a_ - shift(a_)
    assert np.all(gap <= 708.0) and np.all(gap >= 0.0) and np.all(np.isfinite(np.exp(gap)))
    plain = a_ - np.maximum(a_ - 700.0, 0.0)
    assert np.any(plain > 709.8)  # the test can fail: the unbounded shift is caught


RATIO_POINTS = [  # (a, b, x_u, y_u, x_v, y_v): 1 - log((1 + yhat)/(1 + y)) near its root, and elsewhere
    (1.0, 1.0, 3.0, 1.0, 0.5, 1.0),
    (1.0, 1.0, 3.0784, 1.0, 0.5, 1.0),  # 1 + yhat within 2^-13 of e (1 + y)
    (1.0, 1.0, 1e300, 0.0, 3.68e299, 0.0),  # u/v near e, their logs near 690
    (1.0, 1.0, 1.6227750890994782e155, 1.0, 5e-324, 1.0),
    (2.0, 3.0, 0.1, 1.0, 7.0, 1.0),
    (0.0, 0.0, 5.0, 1.0, 2.0, 1.0),
]


@pytest.mark.parametrize("point", RATIO_POINTS)
def test_minus_log_ratio_is_within_2_ulp_where_the_terms_cancel(numerics, point) -> None:
    got = float(numerics._minus_log_ratio(*(np.float64(v) for v in point)))
    with mpmath.workprec(400):
        a_, b_, xu, yu, xv, yv = (mpmath.mpf(v) for v in point)
        truth = a_ - b_ * mpmath.log((xu + yu) / (xv + yv))
        assert ulps(got, truth) <= 2.0


def test_minus_log_ratio_at_random_points_near_its_root(numerics) -> None:
    rng = np.random.default_rng(11)
    y = np.exp(rng.uniform(-20.0, 20.0, 2000))
    offset = rng.uniform(1e-3, 1e-2, 2000) * rng.choice([-1.0, 1.0], 2000)  # cancels by 2^10 at most
    yhat = np.e * (1.0 + y) * (1.0 + offset) - 1.0
    got = numerics._minus_log_ratio(1.0, 1.0, yhat, 1.0, y, 1.0)
    with mpmath.workprec(400):
        worst = max(ulps(float(g), 1 - mpmath.log((mpmath.mpf(u) + 1) / (mpmath.mpf(v) + 1)))
                    for g, u, v in zip(got, yhat, y, strict=True))
    assert worst <= 2.0


TAIL_POINTS = [  # (k, c, a): k log1p(c e^-a) with c e^-a subnormal, tiny, moderate; k = 0 against an overflow
    (8106011628.0, 7.476308e-317, 1.326086227141414e-14),
    (1e9, 1e-300, 30.0),
    (3.0, 1e300, 1400.0),
    (2.0, 0.5, 0.25),
    (0.0, 1e300, -700.0),
]


@pytest.mark.parametrize(("k", "c", "a_"), TAIL_POINTS)
def test_times_log1p_exp_is_within_2_ulp_where_its_tail_is_subnormal(numerics, k, c, a_) -> None:
    got = float(numerics._times_log1p_exp(np.float64(k), np.float64(c), np.float64(a_)))
    with mpmath.workprec(4000):
        truth = mpmath.mpf(k) * mpmath.log1p(mpmath.mpf(c) * mpmath.exp(-mpmath.mpf(a_)))
        assert ulps(got, truth) <= 2.0


def test_k_times_log1p_of_a_subnormal_tail_is_off_by_far_more() -> None:
    k, c, a_ = TAIL_POINTS[0]
    with mpmath.workprec(4000):
        truth = mpmath.mpf(k) * mpmath.log1p(mpmath.mpf(c) * mpmath.exp(-mpmath.mpf(a_)))
        assert ulps(k * np.log1p(c * np.exp(-a_)), truth) > 50.0


def test_times_log1p_exp_stands_for_k_log1p() -> None:
    k, c, x = sp.Symbol("k", real=True), sp.Symbol("c", positive=True), sp.Symbol("x", real=True)
    assert times_log1p_exp(k, c, x).textbook() == k * sp.log(1 + c * sp.exp(-x))
