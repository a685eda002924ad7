"""Tests for symloss.prove.numeric: exact points, mpmath evaluation, joint vector sampling."""

from __future__ import annotations

import time
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from symloss.declare.functions import sigmoid, softplus
from symloss.declare.likelihood import ClassMax
from symloss.declare.notation import (
    BINARY,
    CLASS_COUNT,
    DISTRIBUTION,
    ONE_HOT,
    SIMPLEX,
    UNIT_OPEN,
    Scope,
    index,
    var,
    vector,
)
from symloss.prove.numeric import evaluate, sample_points

x = sp.Symbol("x", real=True)
Z, Y, KK, KI, K_ = vector("z"), vector("y", SIMPLEX), index("k"), index("i"), var("K", CLASS_COUNT)
z, y, k, i, K = Z.symbol, Y.symbol, KK.symbol, KI.symbol, K_.symbol


@pytest.mark.parametrize(
    ("expr", "value", "expected"),
    [
        (sigmoid(x), Fraction(1, 3), lambda: 1 / (1 + mpmath.exp(-mpmath.mpf(1) / 3))),
        (softplus(x), Fraction(800), lambda: 800 + mpmath.log1p(mpmath.exp(-800))),
        (softplus(x), Fraction(-3, 2), lambda: mpmath.log1p(mpmath.exp(mpmath.mpf(-3) / 2))),
        (sp.Max(x, 0) + sp.Min(x, 1), Fraction(1, 2), lambda: mpmath.mpf(1)),
        (sp.Abs(x) * sp.sign(x), Fraction(-2), lambda: mpmath.mpf(-2)),
        (sp.Heaviside(x), Fraction(0), lambda: mpmath.mpf(1) / 2),
        (sp.Piecewise((x**2, x < 1), (x, True)), Fraction(1, 2), lambda: mpmath.mpf(1) / 4),
    ],
)
def test_evaluate_matches_mpmath(expr: sp.Expr, value: Fraction, expected: object) -> None:
    with mpmath.workdps(50):
        assert abs(evaluate(expr, {x: value}, digits=50) - expected()) < mpmath.mpf(10) ** -45


def test_points_are_exact_so_a_tiny_difference_is_seen_at_30_digits() -> None:
    gap = evaluate(x + sp.Rational(1, 10**12) - x, {x: Fraction(123456789, 1000)}, digits=30)
    assert abs(gap - mpmath.mpf("1e-12")) < mpmath.mpf("1e-25")


def test_log_of_a_negative_number_is_complex() -> None:
    assert isinstance(evaluate(sp.log(x), {x: Fraction(-1)}, digits=30), mpmath.mpc)


def test_sums_instantiate_k_from_the_vectors() -> None:
    total = sp.Sum(sp.exp(z[k]), (k, 1, K))
    value = evaluate(sp.exp(z[i]) / total, {z: (0, 0, 0, 0), i: 2}, digits=30)
    assert abs(value - mpmath.mpf(1) / 4) < mpmath.mpf(10) ** -28
    assert evaluate(sp.KroneckerDelta(i, k), {i: 2, k: 2}) == 1


def test_nested_sums_and_a_class_max_rebinding_the_index_are_unrolled_exactly() -> None:
    j = index("j").symbol
    inner = sp.Sum(sp.exp(z[j]), (j, 1, K))
    nested = sp.Sum(z[k] * sp.exp(z[k]) / inner + sp.KroneckerDelta(i, k) * z[k], (k, 1, K))
    point = {z: (Fraction(1, 3), -2, 5), i: 3}
    with mpmath.workdps(40):
        entries = (1 / mpmath.mpf(3), mpmath.mpf(-2), mpmath.mpf(5))
        weights = [mpmath.exp(v) for v in entries]
        mean = mpmath.fsum(v * w for v, w in zip(entries, weights, strict=True))
        assert abs(evaluate(nested, point, digits=40) - (mean / mpmath.fsum(weights) + 5)) < mpmath.mpf(10) ** -35
    rebinding = sp.Sum(ClassMax(z[k], (k, 1, K)) + z[k], (k, 1, K))  # the max binds k again inside the sum over k
    with mpmath.workdps(30):
        assert abs(evaluate(rebinding, point, digits=30) - (3 * 5 + mpmath.mpf(1) / 3 - 2 + 5)) < mpmath.mpf(10) ** -25


def test_evaluation_is_fast_enough_for_the_prover() -> None:
    expr = sp.log(1 + sp.exp(-x)) * sigmoid(x) - softplus(x)
    start = time.perf_counter()
    for n in range(200):
        evaluate(expr, {x: Fraction(n - 100, 7)}, digits=50)
    assert time.perf_counter() - start < 5  # generous; the benchmark is ~20 ms


@pytest.mark.parametrize("domain", [SIMPLEX, DISTRIBUTION, ONE_HOT])
def test_probability_vectors_sum_to_one(domain: object) -> None:
    p = vector("p", domain)
    points = sample_points(Scope((p, K_)), [p.symbol, K], 50, seed=3)
    assert len(points) == 50
    for point in points:
        entries = point[p.symbol]
        assert sum(entries) == 1 and len(entries) == point[K]
        assert all(e > 0 for e in entries) if domain is SIMPLEX else all(e >= 0 for e in entries)


def test_indices_lie_in_one_to_k_and_scalars_in_their_domain() -> None:
    q, b = var("q", UNIT_OPEN), var("b", BINARY)
    points = sample_points(Scope((Z, KI, q, b)), [z, i, q.symbol, b.symbol, x], 40, seed=1)
    for point in points:
        assert 1 <= point[i] <= len(point[z])
        assert 0 < point[q.symbol] < 1 and point[b.symbol] in (0, 1)
        assert isinstance(point[x], Fraction)


def test_given_equations_hold_at_every_point() -> None:
    given = (sp.Eq(sp.Sum(y[k], (k, 1, K)), 1),)
    points = sample_points(Scope((Y, K_)), [y, K], 20, seed=0, given=given)
    assert len(points) == 20
    impossible = (sp.Eq(x**2, -1),)
    assert sample_points(Scope(()), [x], 5, seed=0, given=impossible) == []


def test_sampling_is_reproducible() -> None:
    assert sample_points(Scope((Y,)), [y], 5, seed=9) == sample_points(Scope((Y,)), [y], 5, seed=9)


def test_sums_bounded_by_an_index_evaluate() -> None:
    """Σ_{j<k} e^{z_j} + Σ_{j>k} e^{z_j}: limits that are the index k keep the sums when compiled (common-
    subexpression elimination once took e^{z_j} out of its sum, failed, and made a true claim look refuted)."""
    z, k = sp.IndexedBase("z"), sp.Symbol("k", integer=True, positive=True)
    j, count = sp.Symbol("j", integer=True, positive=True), sp.Symbol("K", integer=True, positive=True)
    expr = sp.Sum(sp.exp(z[j]), (j, 1, k - 1)) + sp.Sum(sp.exp(z[j]), (j, k + 1, count))
    assert abs(evaluate(expr, {z: (1, 2, 3), k: 2}, digits=30) - (mpmath.e + mpmath.exp(3))) < 1e-12
