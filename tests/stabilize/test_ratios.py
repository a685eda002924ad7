"""The ratios family: an expanded perfect square put back together, and the square of an exact sum divided by
c² computed as the square of the ratio (no (x + y)² or c² to overflow or underflow)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from test_scaling import _kernel_module, _within_4_ulp

from symloss.prove.prover import prove
from symloss.stabilize.identities import C, a, b, claim, t
from symloss.stabilize.primitives import expand_primitives, square_of_sum, square_ratio_of_sum
from symloss.stabilize.ratios import RATIOS, perfect_square

BY_NAME = {rule.name: rule for rule in RATIOS}


@pytest.mark.parametrize("rule", RATIOS, ids=lambda rule: rule.name)
def test_every_claim_is_proved(rule) -> None:
    assert [prove(c, budget=20.0).status for c in rule.claims] == ["proved"] * len(rule.claims)


@pytest.mark.parametrize("rule", RATIOS, ids=lambda rule: rule.name)
def test_each_rewrite_changes_its_sample_into_an_equal_expression(rule) -> None:
    rewritten = rule.rewrite(rule.sample)
    assert rewritten != rule.sample
    assert sp.expand(expand_primitives(rewritten) - expand_primitives(rule.sample)) == 0


FALSE_VARIANTS = [
    ("a perfect square with a wrong coefficient", t * a**2 - 2 * t * a * b + 2 * t * b**2, t * (a - b) ** 2),
    ("a perfect square with the wrong sign", t * a**2 + 2 * t * a * b + t * b**2, t * (a - b) ** 2),
    ("the ratio divided by c, not c^2", expand_primitives(square_of_sum(a, b)) / C,
     expand_primitives(square_ratio_of_sum(a, b, C))),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), FALSE_VARIANTS, ids=[v[0] for v in FALSE_VARIANTS])
def test_a_false_variant_is_never_proved(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    assert prove(claim(statement, lhs, rhs), budget=20.0).status == "refuted"


def test_a_perfect_square_is_found_among_other_terms_and_only_with_matching_coefficients() -> None:
    x, y, c = sp.symbols("x y c", real=True)
    rewrite = BY_NAME["perfect_square_in_sum"].rewrite
    assert rewrite(c**2 + y**2 - 2 * y * x + x**2) == c**2 + (x - y) ** 2
    assert rewrite(3 * y**2 + 6 * y * x + 3 * x**2 - c**2) == 3 * (x + y) ** 2 - c**2
    for not_a_square in (3 * x**2 - 6 * x * y + 2 * y**2, x**2 - x * y + y**2, x**2 - 2 * x * c**2 + y**2):
        assert perfect_square(not_a_square) is None
        assert rewrite(not_a_square) == not_a_square


def test_the_ratio_replaces_only_a_square_of_an_exact_sum_over_a_positive_square() -> None:
    x, y = sp.symbols("x y", real=True)
    c, nu = sp.symbols("c nu", positive=True)
    s = sp.Symbol("s", real=True)  # of unknown sign: 1/s^2 is no square of a positive scale
    rewrite = BY_NAME["square_ratio_of_exact_sum"].rewrite
    assert rewrite(square_of_sum(x, -y) / (nu * c**2)) == square_ratio_of_sum(x, -y, c) / nu
    assert rewrite((x + 1) ** 2 / c**2) == square_ratio_of_sum(x, sp.Float(1, 40), c)
    for unchanged in (square_of_sum(x, -y) / s**2, square_of_sum(x, -y) / c, (x * y) ** 2 / c**2):
        assert rewrite(unchanged) == unchanged


@pytest.fixture(scope="module")
def gaussian_module():
    """The kernel of exp(−(r/c)²), r = ŷ − y, whose argument overflows or underflows as r²/c²."""
    kernel, module = _kernel_module("scaled_gaussian", lambda r, c: sp.exp(-((r / c) ** 2)))
    assert "square_ratio_of_exact_sum" in kernel.value.rules
    return module


# (yhat, y, c) where r² or c² overflows or underflows although (r/c)² is moderate, and where ŷ − y overflows
GAUSSIAN_POINTS = ((0.0, 5.471475839096785e274, 2.0291379254630686e220), (1e-200, 0.0, 1e-199),
                   (3e155, 0.0, 2e155), (1.7e308, -1.7e308, 1e308), (1.5, 0.25, 1.0))


def test_the_kernel_of_a_gaussian_of_a_scaled_residual_is_within_4_ulp_where_squares_overflow(
        gaussian_module) -> None:
    got = np.array([gaussian_module.scaled_gaussian(np.array([p]), np.array([q]), c=s, reduction="none")[0]
                    for p, q, s in GAUSSIAN_POINTS])
    with mpmath.workdps(60):
        _within_4_ulp(got, [mpmath.exp(-(((mpmath.mpf(p) - mpmath.mpf(q)) / mpmath.mpf(s)) ** 2))
                            for p, q, s in GAUSSIAN_POINTS])


@pytest.fixture(scope="module")
def redescending_module():
    """The kernel of r²/(r² + c²), whose derivatives SymPy writes with the expanded c² + ŷ² − 2ŷy + y²."""
    kernel, module = _kernel_module("scaled_redescending", lambda r, c: r**2 / (r**2 + c**2))
    assert "perfect_square_in_sum" in kernel.gradient.rules
    return module


# (yhat, y, c) where every term of the expanded square overflows, or c² r does (not yet where only the
# denominator's square does, (c² + r²)² at r = c = 10^150: below the quotient rule's boundary 10^300)
REDESCENDING_POINTS = ((0.0, 1e200, 1e199), (1e300, 1e300 - 2e284, 1e285), (1.5, 0.25, 1.0))


def test_the_gradient_of_an_expanded_square_is_within_4_ulp_where_its_terms_overflow(redescending_module) -> None:
    got = np.array([redescending_module.scaled_redescending_grad(np.array([p]), np.array([q]), c=s)[0]
                    for p, q, s in REDESCENDING_POINTS])
    with mpmath.workdps(60):
        truths = []
        for p, q, s in REDESCENDING_POINTS:
            r, scale = mpmath.mpf(p) - mpmath.mpf(q), mpmath.mpf(s)
            truths.append(2 * r * scale**2 / (r**2 + scale**2) ** 2)
        _within_4_ulp(got, truths)
