"""A square scale times one minus a Gaussian factor, c²(1 − e^{−q}), q = ((x + y)/c)² (``one_minus_exp_square_ratio``):
(x + y)² exprel(−q) where q < 1 may underflow, −c² expm1(−q) elsewhere."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from test_scaling import _kernel_module, _within_4_ulp

from symloss.prove.prover import prove
from symloss.stabilize.identities import C, a, b, claim
from symloss.stabilize.primitives import expand_primitives, expm1, exprel, square_of_sum, square_ratio_of_sum
from symloss.stabilize.square_ratio_exp import SQUARE_RATIO_EXP

RULE = SQUARE_RATIO_EXP[0]


def test_every_claim_is_proved_and_the_rewrite_keeps_the_value() -> None:
    assert [prove(c, budget=20.0).status for c in RULE.claims] == ["proved"] * len(RULE.claims)
    rewritten = RULE.rewrite(RULE.sample)
    assert isinstance(rewritten, sp.Piecewise)
    for branch, _ in rewritten.args:
        assert sp.simplify(_textbook(branch) - _textbook(RULE.sample)) == 0


def _textbook(expr: sp.Expr) -> sp.Expr:
    """``expr`` with its primitives expanded and expm1(z) written e^z − 1."""
    return expand_primitives(expr).replace(lambda e: isinstance(e, expm1), lambda e: sp.exp(e.args[0]) - 1)


_q = square_ratio_of_sum(a, b, C)
_LHS = C**2 * (1 - sp.exp(-expand_primitives(_q)))
FALSE_VARIANTS = [
    ("exprel of +q, not -q", _LHS, expand_primitives(square_of_sum(a, b) * exprel(_q))),
    ("c^2 q dropped to c^2", _LHS, expand_primitives(C**2 * exprel(-_q))),
    ("expm1 without its sign", _LHS, expand_primitives(C**2 * expm1(-_q))),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), FALSE_VARIANTS, ids=[v[0] for v in FALSE_VARIANTS])
def test_a_false_variant_is_refuted(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    assert prove(claim(statement, lhs, rhs), budget=20.0).status == "refuted"


def test_the_rewrite_takes_a_power_of_the_ratio_s_own_scale_only() -> None:
    x, y = sp.symbols("x y", real=True)
    c, d = sp.symbols("c d", positive=True)
    q = square_ratio_of_sum(x, -y, c)
    assert RULE.rewrite(c**3 * (1 - sp.exp(-q)) / 2) == sp.Piecewise(
        (c * square_of_sum(x, -y) * exprel(-q) / 2, q < 1), (-(c**3) * expm1(-q) / 2, True))
    for unchanged in (d**2 * (1 - sp.exp(-q)), c * (1 - sp.exp(-q)), c**2 * (1 - sp.exp(q)),
                      c**2 * (2 - sp.exp(-q)), -(c**2) * expm1(-q)):
        assert RULE.rewrite(unchanged) == unchanged


@pytest.fixture(scope="module")
def welsch_like():
    """The kernel of c²/2 (1 − e^{−(r/c)²}), r = ŷ − y: a redescending robust loss."""
    kernel, module = _kernel_module("gaussian_complement", lambda r, c: c**2 / 2 * (1 - sp.exp(-((r / c) ** 2))))
    assert "one_minus_exp_square_ratio" in kernel.value.rules
    assert [regime.rule for regime in kernel.value.regimes] == ["one_minus_exp_square_ratio"]
    return module


# (yhat, y, c): q underflows (r/c < 1e-154), c² overflows, q ≥ 1 with c² overflowing, a moderate point
POINTS = ((-3.061278058841349e54, -1.47472890759482e-20, 1.7976931348623157e308),
          (-1.239328127766835e-309, -4.1192914255462905e203, 1.5607056755600264e154),
          (3.0, -1e-200, 1e160), (1e150, -2e150, 1.5e154), (1.5, 0.25, 1.0), (7.0, -1.0, 2.0))


def test_the_kernel_is_within_4_ulp_where_q_underflows_or_c_squared_overflows(welsch_like) -> None:
    got = np.array([welsch_like.gaussian_complement(np.array([p]), np.array([t]), c=s, reduction="none")[0]
                    for p, t, s in POINTS])
    with mpmath.workdps(80):
        truths = []
        for p, t, s in POINTS:
            r, c = mpmath.mpf(p) - mpmath.mpf(t), mpmath.mpf(s)
            truths.append(-(c**2) / 2 * mpmath.expm1(-((r / c) ** 2)))
        _within_4_ulp(got, truths)


# ------------------------------------------------------------------ affine_in_square_ratio

AFFINE = SQUARE_RATIO_EXP[1]


def test_the_affine_claim_is_proved_and_false_variants_are_refuted() -> None:
    assert [prove(c, budget=20.0).status for c in AFFINE.claims] == ["proved"]
    lhs = (C**2 - 2 * expand_primitives(square_of_sum(a, b))) / C**2
    for statement, rhs in (("the square's coefficient dropped", 1 - expand_primitives(_q)),
                           ("c^2 kept on the constant", C**2 - 2 * expand_primitives(_q)),
                           ("the ratio of the difference", 1 - 2 * ((a - b) / C) ** 2)):
        assert prove(claim(statement, lhs, rhs), budget=20.0).status == "refuted"


def test_the_affine_rewrite_takes_the_ratio_s_own_scale_and_a_sum_of_two_terms_only() -> None:
    x, y = sp.symbols("x y", real=True)
    c, d = sp.symbols("c d", positive=True)
    u = sp.Symbol("u", real=True)
    q, square = square_ratio_of_sum(x, -y, c), square_of_sum(x, -y)
    curvature = (c**2 - 2 * square) * sp.exp(-q) / c**2
    assert AFFINE.rewrite(curvature) == (1 - 2 * q) * sp.exp(-q)
    scaled = AFFINE.rewrite(3 * curvature / c)
    assert not scaled.has(square) and sp.expand(scaled - 3 * (1 - 2 * q) * sp.exp(-q) / c) == 0
    for unchanged in ((d**2 - 2 * square) / c**2, (c**2 - 2 * square) / c, (c**2 - 2 * square + x) / c**2,
                      (c**2 - 2 * square) / u**2, (c**2 - 2 * x**2) / c**2):
        assert AFFINE.rewrite(unchanged) == unchanged
