"""Three rules for quotients and differences that lose bits in float64: a quotient by a square in two divisions
(``quotient_by_square``), |x + y| + c from an exact sum (``abs_of_exact_sum_plus``) and a − b log c in two floats
(``difference_with_log_product``)."""

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
from symloss.stabilize.exact_sum_primitives import abs_of_sum_plus
from symloss.stabilize.exact_sums import EXACT_SUMS
from symloss.stabilize.identities import C, a, b, claim, m, r, t
from symloss.stabilize.log_products import LOG_PRODUCTS, minus_log_product
from symloss.stabilize.primitives import expand_primitives, pow1p
from symloss.stabilize.ratios import RATIOS
from symloss.stabilize.scale_ratios import over_square

RULES = {rule.name: rule for rule in (*RATIOS, *EXACT_SUMS, *LOG_PRODUCTS)}
NAMES = ("quotient_by_square", "abs_of_exact_sum_plus", "difference_with_log_product")


@pytest.mark.parametrize("name", NAMES)
def test_every_claim_is_proved_and_the_sample_is_rewritten_to_an_equal_expression(name: str) -> None:
    rule = RULES[name]
    assert [prove(c, budget=20.0).status for c in rule.claims] == ["proved"] * len(rule.claims)
    rewritten = rule.rewrite(rule.sample)
    assert rewritten != rule.sample
    assert sp.simplify(expand_primitives(rewritten) - expand_primitives(rule.sample)) == 0


FALSE_VARIANTS = [
    ("a quotient by a square divided once", r * C**-2, r / C),
    ("the low part added without the sign of h", sp.sign(a) * (a + b) + t, (sp.Abs(a) + t) + b),
    ("the halves' difference not doubled", sp.Abs(a + b) + t, sp.Abs(a / 2 + b / 2) + t / 2),
    ("the exponent's log of the wrong base", sp.log(2**m * C), m * sp.log(3) + sp.log(C)),
    ("the low part of the log added, not subtracted", a - b * sp.log(C), (a - b * t) + b * (sp.log(C) - t)),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), FALSE_VARIANTS, ids=[v[0] for v in FALSE_VARIANTS])
def test_a_false_variant_is_refuted(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    assert prove(claim(statement, lhs, rhs), budget=20.0).status == "refuted"


def test_a_quotient_by_a_square_is_divided_twice_except_where_the_square_is_shared_or_scaled() -> None:
    y, s = sp.symbols("y s", real=True)
    mu, c = sp.symbols("mu c", positive=True)
    rewrite = RULES["quotient_by_square"].rewrite
    assert rewrite(y * mu**-2) == over_square(y, mu)
    assert rewrite(2 * (sp.log(mu) + 1) / (1 + mu) ** 2) == over_square(2 * sp.log(mu) + 2, 1 + mu)
    for unchanged in (y / s**2,  # g of unknown sign
                      3 / mu**2,  # a number over the square: one rounding of mu^-2 and one product
                      y / mu**2 - 2 * y * c / mu**2,  # terms that share mu^-2 (it factors out where they cancel)
                      sp.exp(-y) * c / mu**2,  # an exponential: the kernel scales it with its divisors
                      pow1p(y, c) * y / mu**2):
        assert rewrite(unchanged) == unchanged


def test_abs_of_an_exact_sum_plus_a_term_is_taken_only_of_float_inputs() -> None:
    y, yhat = sp.symbols("y yhat", real=True)
    eps = sp.Symbol("epsilon", nonnegative=True)
    rewrite = RULES["abs_of_exact_sum_plus"].rewrite
    assert rewrite(sp.Max(0, sp.Abs(y - yhat) - eps)) == sp.Max(0, abs_of_sum_plus(y, -yhat, -eps))
    for unchanged in (sp.Abs(y - yhat) - 2 * eps, sp.Abs(y - 2 * yhat) - eps, sp.Abs(y - yhat) + sp.log(eps + 1)):
        assert rewrite(unchanged) == unchanged


def test_a_difference_with_a_log_product_is_taken_only_of_float_inputs() -> None:
    y = sp.Symbol("y", nonnegative=True)
    mu = sp.Symbol("mu", positive=True)
    s = sp.Symbol("s", real=True)
    rewrite = RULES["difference_with_log_product"].rewrite
    assert rewrite(mu - y * sp.log(mu)) == minus_log_product(mu, y, mu)
    assert rewrite(mu + y * sp.log(mu) + 1) == minus_log_product(mu, -y, mu) + 1
    for unchanged in (mu - 2 * y * sp.log(mu), mu - y * sp.log(mu + 1), mu - y * sp.log(s), mu**2 - y * sp.log(mu)):
        assert rewrite(unchanged) == unchanged


@pytest.fixture(scope="module")
def numerics():
    folder = Path(tempfile.mkdtemp(prefix="symloss-cancelling-"))
    for file, text in render_package(["mse"]).items():
        (folder / file).write_text(text)
    return load_generated(folder, "_numerics")


ABS_POINTS = [  # (x, y, c): the sum overflows, or |x + y| + c cancels
    (4.856039507519026e260, 1.7976931348623157e308, -1.7976931348623157e308),
    (-4.856039507519026e260, -1.7976931348623157e308, -1.7976931348623157e308),
    (1e-300, 0.5, -0.5),
    (0.1, 0.2, -0.30000000000000004),
    (3.0, -1.0, 0.5),
    (1e308, 1e308, 1.0),  # the sum overflows and so does the result: inf
]


@pytest.mark.parametrize(("x", "y", "c"), ABS_POINTS)
def test_abs_of_sum_plus_is_within_1_ulp_where_the_sum_overflows_or_cancels(numerics, x, y, c) -> None:
    got = float(numerics._abs_of_sum_plus(np.float64(x), np.float64(y), np.float64(c)))
    with mpmath.workprec(2200):
        truth = abs(mpmath.mpf(x) + mpmath.mpf(y)) + mpmath.mpf(c)
        assert ulps(got, truth) <= 1.0


LOG_POINTS = [  # (a, b, c): a − b log c near its root (cancelling up to 2^10), and far from it
    (4.596264435730867, 3.0, 4.596264435730867),
    (1.0009765625, 1.0, np.e),  # 2^-10 from terms near 1: the log's 2^-64 still within an ulp
    (3.082574953621583e197, 6.7e194, 3.086163515296512e197),
    (2.5, 3.0, 2.5),
    (1e-300, 0.0, 1e-300),
]


@pytest.mark.parametrize(("x", "y", "c"), LOG_POINTS)
def test_minus_log_product_is_within_2_ulp_where_the_terms_cancel(numerics, x, y, c) -> None:
    got = float(numerics._minus_log_product(np.float64(x), np.float64(y), np.float64(c)))
    with mpmath.workprec(400):
        truth = mpmath.mpf(x) - mpmath.mpf(y) * mpmath.log(mpmath.mpf(c))
        assert ulps(got, truth) <= 2.0


def test_minus_log_product_at_random_points_where_the_two_terms_cancel(numerics) -> None:
    rng = np.random.default_rng(7)
    b = np.exp(rng.uniform(-300.0, 300.0, 2000))
    c = np.exp(rng.uniform(-700.0, 700.0, 2000))
    a = b * np.log(c) * (1.0 + rng.uniform(-1e-3, 1e-3, 2000))  # cancels by 2^10 at least
    got = numerics._minus_log_product(a, b, c)
    with mpmath.workprec(400):
        worst = max(ulps(float(g), mpmath.mpf(a_) - mpmath.mpf(b_) * mpmath.log(mpmath.mpf(c_)))
                    for g, a_, b_, c_ in zip(got, a, b, c, strict=True))
    assert worst <= 2.0
