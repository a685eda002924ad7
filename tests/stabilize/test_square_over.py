"""The square of an exact sum over a positive v, k(x + y)²/v (``square_over_exact_sum``,
``square_over_of_sum``): no (x + y)² formed where the quotient is finite, the sum of the halves where x + y could
overflow, and the number k applied before the quotient could overflow."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from test_scaling import _kernel_module, _within_4_ulp

from symloss.emit.codegen import load_generated, render_package
from symloss.prove.prover import prove
from symloss.stabilize.identities import C, a, b, claim, t
from symloss.stabilize.identities import w as positive
from symloss.stabilize.primitives import expand_primitives, quotient_of_sum, square_of_sum, square_over_of_sum
from symloss.stabilize.ratios import RATIOS

RULE = next(rule for rule in RATIOS if rule.name == "square_over_exact_sum")


def test_every_claim_is_proved_and_the_rewrite_keeps_the_value() -> None:
    assert [prove(c, budget=20.0).status for c in RULE.claims] == ["proved"] * len(RULE.claims)
    rewritten = RULE.rewrite(RULE.sample)
    assert rewritten != RULE.sample
    assert sp.simplify(expand_primitives(rewritten) - expand_primitives(RULE.sample)) == 0


FALSE_VARIANTS = [
    ("the low part not divided by v", positive * expand_primitives(square_of_sum(a, b)) / C,
     (positive * a) * (a / C) + positive * (2 * b * a + b * b)),
    ("the halves' quotient multiplied by 2, not 4", positive * expand_primitives(square_of_sum(a, b)) / C,
     2 * (positive * (a / 2 + b / 2) ** 2 / C)),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), FALSE_VARIANTS, ids=[v[0] for v in FALSE_VARIANTS])
def test_a_false_variant_is_refuted(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    assert prove(claim(statement, lhs, rhs), budget=20.0).status == "refuted"


def test_the_rewrite_takes_the_number_and_only_a_square_over_a_positive_v() -> None:
    x, y = sp.symbols("x y", real=True)
    v, c = sp.symbols("v c", positive=True)
    s = sp.Symbol("s", real=True)  # of unknown sign
    assert RULE.rewrite(-3 * square_of_sum(x, -y) / v) == -square_over_of_sum(x, -y, v, 3)
    assert RULE.rewrite(sp.log(v) / 2 + (x - y) ** 2 / (2 * v)) == (
        sp.log(v) / 2 + square_over_of_sum(x, -y, v, sp.Rational(1, 2)))
    for unchanged in (square_of_sum(x, -y) / s, square_of_sum(x, -y) / c**2, (x * y) ** 2 / v):
        assert RULE.rewrite(unchanged) == unchanged


@pytest.fixture(scope="module")
def numerics():
    folder = Path(tempfile.mkdtemp(prefix="symloss-square-over-"))
    for file, text in render_package(["mse"]).items():
        (folder / file).write_text(text)
    return load_generated(folder, "_numerics")


def _truth(x: float, y: float, v: float, k: float) -> mpmath.mpf:
    return mpmath.mpf(k) * (mpmath.mpf(x) + mpmath.mpf(y)) ** 2 / mpmath.mpf(v)


def test_the_helper_is_within_4_ulp_of_mpmath_at_random_points_and_at_the_float_range_edges(numerics) -> None:
    rng = np.random.default_rng(11)
    n = 3000
    x = rng.choice([-1.0, 1.0], n) * 2.0 ** rng.uniform(-1074, 1024, n)
    # y: of x's size (cancellation), or of any size
    y = np.where(rng.random(n) < 0.5, -x * (1 + rng.uniform(-1e-3, 1e-3, n)),
                 rng.choice([-1.0, 1.0], n) * 2.0 ** rng.uniform(-1074, 1024, n))
    v = 2.0 ** rng.uniform(-1074, 1024, n)
    k = rng.choice([0.5, 1.0, 1.0 / 3.0, 3.0], n)
    edges = np.array([(1.7976931348623157e308, -1.7976931348623157e308, 1.0929937111426316e174, 1.0),
                      (-3.7472871171315085e267, -5e-324, 1.7976931348623157e308, 0.5),
                      (1.7976931348623157e308, 3.0588306107604716e-186, 1.6641334325567505e308, 0.5),
                      (1.7976931348623157e308, 1.7976931348623157e308, 1.7976931348623157e308, 0.25),
                      (1e-300, 3e-301, 1e-310, 1.0), (5e-324, 5e-324, 5e-324, 1.0), (0.75, -0.25, 3.0, 0.5),
                      (1e155, -2.0, 1e-10, 1.0), (2.0**1020, -(2.0**1020) + 2.0**968, 1e-300, 1.0)]).T
    x, y, v, k = (np.concatenate([column, edge]) for column, edge in zip((x, y, v, k), edges, strict=True))
    with np.errstate(all="ignore"):
        got = numerics._square_over_of_sum(x, y, v, k)
    with mpmath.workdps(60):
        truths = [_truth(*point) for point in zip(x, y, v, k, strict=True)]
    tiny, huge = mpmath.mpf(2.0**-1022), mpmath.mpf(np.finfo(float).max)
    normal = [i for i, true in enumerate(truths) if tiny <= true <= huge]
    assert len(normal) > n // 3
    _within_4_ulp(got[normal], [truths[i] for i in normal])
    assert np.all(np.isinf(got[[i for i, true in enumerate(truths) if true > huge * (1 + mpmath.mpf(2.0**-53))]]))


@pytest.fixture(scope="module")
def gaussian_module():
    """The kernel of log(c)/2 + r²/(2c), r = ŷ − y: a Gaussian's negative log-likelihood, c its variance."""
    kernel, module = _kernel_module("square_over_nll", lambda r, c: sp.log(c) / 2 + r**2 / (2 * c))
    assert "square_over_exact_sum" in kernel.value.rules
    return module


# (yhat, y, var) where (ŷ − y)² overflows, or (ŷ − y)²/var does and its half does not
GAUSSIAN_POINTS = ((-3.7472871171315085e267, -5e-324, 1.7976931348623157e308),
                   (1.7976931348623157e308, -3.0588306107604716e-186, 1.6641334325567505e308),
                   (-2.9689876752529505e71, 4.737096092632707e228, 2.9117044632767366e244), (1.5, 0.25, 1.0))


def test_the_kernel_is_within_4_ulp_where_the_square_overflowed(gaussian_module) -> None:
    got = np.array([gaussian_module.square_over_nll(np.array([p]), np.array([q]), c=s, reduction="none")[0]
                    for p, q, s in GAUSSIAN_POINTS])
    with mpmath.workdps(60):
        _within_4_ulp(got, [mpmath.log(mpmath.mpf(s)) / 2 + _truth(p, -q, s, 0.5) for p, q, s in GAUSSIAN_POINTS])


QUOTIENT = next(rule for rule in RATIOS if rule.name == "quotient_of_exact_sum")


def test_the_quotient_claim_is_proved_and_a_false_variant_refuted() -> None:
    assert [prove(c, budget=20.0).status for c in QUOTIENT.claims] == ["proved"]
    assert QUOTIENT.rewrite(QUOTIENT.sample) == quotient_of_sum(a, -b, 1, C)
    false = claim("the halves' quotient not doubled", t * (a + b) / C, t * ((a / 2 + b / 2) / C))
    assert prove(false, budget=20.0).status == "refuted"


def test_the_quotient_takes_a_scaled_residual_and_its_distributed_form_only() -> None:
    x, y = sp.symbols("x y", real=True)
    v = sp.Symbol("v", positive=True)
    s = sp.Symbol("s", real=True)
    assert QUOTIENT.rewrite(-(y - x) / v) == quotient_of_sum(x, -y, 1, v)
    assert QUOTIENT.rewrite(2 * (x - y)) == quotient_of_sum(y, -x, -2, 1)
    assert QUOTIENT.rewrite(3 * x * (x - y) / v) == x * quotient_of_sum(x, -y, 3, v)
    for unchanged in (x - y, x * (x - y), (x - y) / s, 2 * x + 2, 2 * x - 3 * y):
        assert QUOTIENT.rewrite(unchanged) == unchanged


def test_the_quotient_helper_is_within_2_ulp_where_the_residual_overflows(numerics) -> None:
    x = np.array([1.7976931348623157e308, -1.7976931348620858e308, 1e300, 3.0, -5e-324, 2.0**1020])
    y = np.array([-1.7976931348623157e308, 1.7976931348623157e308, 3e299, -1.0, 5e-324, 2.0**1020])
    c = np.array([1.0, -2.0, 0.5, 3.0, 1.0, -1.0])
    v = np.array([1.0929937111426316e174, 1.0, 1e-300 * 1e-8, 7.0, 1.0, 4.0])
    got = numerics._quotient_of_sum(x, y, c, v)
    with mpmath.workdps(60):
        for computed, point in zip(got, zip(x, y, c, v, strict=True), strict=True):
            xi, yi, ci, vi = (mpmath.mpf(float(p)) for p in point)
            true = ci * (xi + yi) / vi
            if abs(true) > mpmath.mpf(np.finfo(float).max):
                assert np.isinf(computed)
            elif true == 0:
                assert computed == 0
            else:
                assert abs(mpmath.mpf(float(computed)) - true) / mpmath.mpf(np.spacing(abs(float(true)))) <= 2


def test_the_gaussian_gradient_is_finite_where_the_residual_overflows(gaussian_module) -> None:
    got = gaussian_module.square_over_nll_grad(np.array([1.7976931348623157e308]),
                                               np.array([-1.7976931348623157e308]), c=1.0929937111426316e174)
    with mpmath.workdps(60):
        _within_4_ulp(got, [2 * mpmath.mpf(1.7976931348623157e308) / mpmath.mpf(1.0929937111426316e174)])
