"""Tests for symloss.declare.likelihood: densities, links and class-axis helpers."""

from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from symloss.declare.likelihood import (
    ClassMax,
    bernoulli,
    categorical,
    entrywise,
    exponential_family,
    gaussian,
    laplace,
    logsumexp,
    one_hot,
    poisson,
    smoothed,
    softmax,
)
from symloss.declare.notation import CLASS_COUNT, ONE_HOT, REAL, SIMPLEX, index, var, vector
from symloss.prove.numeric import evaluate

y, p, x = sp.symbols("y p x")
K = var("K", CLASS_COUNT).symbol
k, i, j = index("k").symbol, index("i").symbol, index("j").symbol
z = vector("z").symbol
yv = vector("y", ONE_HOT).symbol
pv = vector("p", SIMPLEX).symbol


def test_bernoulli_is_p_for_one_and_one_minus_p_for_zero() -> None:
    assert bernoulli(1, p) == p
    assert bernoulli(0, p) == 1 - p


def test_categorical_of_a_one_hot_label_picks_the_entry() -> None:
    value = evaluate(categorical(yv, pv, k, K), {yv: (0, 1, 0), pv: (Fraction(1, 5), Fraction(1, 2), Fraction(3, 10))})
    assert value == mpmath.mpf("0.5")


def test_categorical_accepts_an_expression_for_the_counts() -> None:
    density = categorical(smoothed(yv, k, K, Fraction(1, 10)), pv, k, K)
    assert isinstance(density, sp.Product)
    assert density.function.exp == (1 - sp.Rational(1, 10)) * yv[k] + sp.Rational(1, 10) / K


@pytest.mark.parametrize(
    "density",
    [gaussian(x, 1, 4), laplace(x, -1, 3)],
)
def test_continuous_densities_integrate_to_one(density: sp.Expr) -> None:
    assert sp.integrate(density, (x, -sp.oo, sp.oo)).simplify() == 1


def test_poisson_pmf_sums_to_one() -> None:
    n = sp.Symbol("n", integer=True, nonnegative=True)
    assert sp.summation(poisson(n, 3), (n, 0, sp.oo)).simplify() == 1


def test_exponential_family_form() -> None:
    eta, t = sp.symbols("eta t")
    assert exponential_family(t, eta, sp.exp(eta), 1) == sp.exp(eta * t - sp.exp(eta))


def test_softmax_sums_to_one_and_matches_logsumexp() -> None:
    point = {z: (Fraction(2), Fraction(1), Fraction(1, 10))}
    entries = [evaluate(softmax(z, k, K).xreplace({k: n}), point) for n in (1, 2, 3)]
    assert abs(sum(entries) - 1) < mpmath.mpf(10) ** -40
    assert abs(mpmath.log(entries[0]) - (2 - evaluate(logsumexp(z, K), point))) < mpmath.mpf(10) ** -40


def test_softmax_rejects_a_summation_index_equal_to_the_entry_index() -> None:
    with pytest.raises(ValueError, match="differ"):
        softmax(z, j, K)


def test_one_hot_is_a_kronecker_delta() -> None:
    c = index("c").symbol
    assert one_hot(k, c) == sp.KroneckerDelta(k, c)


def test_entrywise_reaches_entries_under_a_summation_index() -> None:
    m = var("m", REAL).symbol
    shifted = entrywise(sp.Sum(sp.exp(z[k]), (k, 1, K)), z, lambda n: z[n] + m)
    assert shifted == sp.Sum(sp.exp(z[k] + m), (k, 1, K))
    # plain subs would leave the bound entry alone
    assert sp.Sum(yv[k], (k, 1, K)).subs(yv[k], 0) == sp.Sum(yv[k], (k, 1, K))
    assert entrywise(sp.Sum(yv[k], (k, 1, K)), yv, lambda n: 0) == sp.Sum(0, (k, 1, K))


def test_class_max_expands_for_a_number_of_classes() -> None:
    largest = ClassMax(z[k] + 1, (k, 1, K))
    assert largest.xreplace({K: 3}).doit() == sp.Max(z[1] + 1, z[2] + 1, z[3] + 1)
    assert K in largest.free_symbols and k not in largest.free_symbols
    assert evaluate(largest - sp.Sum(0, (k, 1, K)), {z: (1, 4, 2)}) == 5


def test_class_max_derivative_is_the_indicator_of_the_maximum() -> None:
    largest = ClassMax(z[k], (k, 1, K))
    gradient = sp.diff(largest, z[i])
    point = {z: (Fraction(1), Fraction(3), Fraction(2))}
    assert [evaluate(gradient, point | {i: n}) for n in (1, 2, 3)] == [0, 1, 0]


def test_class_max_prints_as_a_max_in_latex() -> None:
    assert sp.latex(ClassMax(z[k], (k, 1, K))).startswith(r"\max_{k=1}^{K}")


def test_sum_out_deltas_collapses_a_delta_inside_a_sum_of_terms() -> None:
    from symloss.declare.likelihood import sum_out_deltas

    z, w = sp.IndexedBase("z"), sp.IndexedBase("w")
    k, i, n = sp.Symbol("k", integer=True), sp.Symbol("i", integer=True), sp.Symbol("K", integer=True)
    total = sp.Sum(z[k] * (sp.KroneckerDelta(i, k) + w[k]), (k, 1, n))
    assert sum_out_deltas(total) == z[i] + sp.Sum(w[k] * z[k], (k, 1, n))
    assert sum_out_deltas(sp.Sum(z[k], (k, 1, n))) == sp.Sum(z[k], (k, 1, n))
