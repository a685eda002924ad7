"""Tests for symloss.declare.functions: printing names and elementary rewrites."""

import sympy as sp

from symloss.declare.functions import sigmoid, softplus, to_elementary

z = sp.Symbol("z", real=True)


def test_sigmoid_rewrites_to_the_logistic_function() -> None:
    assert to_elementary(sigmoid(z)) == 1 / (1 + sp.exp(-z))
    assert sigmoid(0) == sp.Rational(1, 2)


def test_softplus_rewrites_to_log_one_plus_exp() -> None:
    assert to_elementary(softplus(z)) == sp.log(1 + sp.exp(z))


def test_nested_functions_are_all_rewritten() -> None:
    expr = to_elementary(softplus(sigmoid(z)) + sigmoid(-z))
    assert not expr.has(sigmoid, softplus)


def test_reported_derivatives_match_the_elementary_ones() -> None:
    for f in (sigmoid(z), softplus(z)):
        direct = sp.diff(to_elementary(f), z)
        reported = to_elementary(sp.diff(f, z))
        assert sp.simplify(direct - reported) == 0


def test_latex_names() -> None:
    assert sp.latex(sigmoid(z)) == r"\sigma\left(z\right)"
    assert sp.latex(softplus(z)) == r"\operatorname{softplus}\left(z\right)"


def test_sign_facts() -> None:
    assert sigmoid(z).is_positive and softplus(z).is_positive
    assert sigmoid(sp.Symbol("w")).is_positive is None


def test_latex_of_a_power_of_a_named_function() -> None:
    assert sp.latex(sigmoid(z) ** 2) == r"\sigma\left(z\right)^{2}"
    assert sp.latex(softplus(z) ** 3) == r"\operatorname{softplus}\left(z\right)^{3}"
