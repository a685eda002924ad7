"""Tests for symloss.verify.latex_reader: the LaTeX grammar and its errors."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from symloss.declare.catalog import Catalog
from symloss.declare.functions import sigmoid, softplus
from symloss.declare.notation import CLASS_COUNT, REAL_VECTOR, Scope
from symloss.verify.parse import ParseError, parse, parse_many

x, y, z = (sp.Symbol(n, real=True) for n in "xyz")


def latex(source: str, scope: Scope | None = None, catalog: Catalog | None = None) -> sp.Expr:
    return parse(source, scope, catalog, latex=True).expr


# ---------------------------------------------------------------- LaTeX


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"\frac{1}{1 + e^{-z}}", 1 / (1 + sp.exp(-z))),
        (r"-[y\log\sigma(z) + (1-y)\log(1-\sigma(z))]", -y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z))),
        (r"2z + y\log x", 2 * z + y * sp.log(x)),
        (r"|x - y| \cdot \sqrt{x^2}", sp.Abs(x - y) * sp.Abs(x)),
        (r"\max(0, 1 - y \cdot z)", sp.Max(0, 1 - y * z)),
        (r"\tanh(x)\cosh(y) + \ln x", sp.tanh(x) * sp.cosh(y) + sp.log(x)),
        (r"\exp\left(x\right) \times 3", 3 * sp.exp(x)),
        (r"\operatorname{softplus}(z)", softplus(z)),
        (r"\sqrt[3]{x}", sp.cbrt(x)),
        (r"\frac{\partial}{\partial z} \sigma(z)", sp.Derivative(sigmoid(z), z, evaluate=False)),
        (r"e", sp.E),
        (r"\pi x", sp.pi * x),
    ],
)
def test_latex_grammar(source: str, expected: sp.Expr) -> None:
    assert latex(source) == expected


def test_latex_names_hats_greek_and_subscripts() -> None:
    expr = latex(r"(1 - \hat{y})^\gamma + p_t + y_{true} + \epsilon")
    names = {s.name for s in expr.free_symbols}
    assert names == {"y_hat", "gamma", "p_t", "y_true", "epsilon"}


def test_latex_sums_index_their_vectors() -> None:
    formula = parse(r"-\sum_{k=1}^{K} y_k \log \hat{y}_k", latex=True)
    assert {v.name: v.domain for v in formula.scope.variables} == {
        "K": CLASS_COUNT,
        "y": REAL_VECTOR,
        "y_hat": REAL_VECTOR,
    }
    softmax = parse(r"\frac{e^{z_i}}{\sum_j e^{z_j}}", latex=True)
    assert {v.name for v in softmax.scope.variables} == {"z", "i", "K"}


def test_latex_partial_of_a_defined_name() -> None:
    expr = latex(r"L = -y\log\sigma(z) - (1-y)\log(1-\sigma(z)); \frac{\partial L}{\partial z}")
    assert expr == sp.Derivative(-y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z)), z, evaluate=False)
    second = latex(r"\mathcal{L} = z^3 \\ \frac{\partial^2 \mathcal{L}}{\partial z^2}")
    assert second == sp.Derivative(z**3, (z, 2), evaluate=False)


def test_latex_definitions_carry_over_to_the_other_side() -> None:
    _left, right = parse_many([r"L = z^2", r"\frac{\partial L}{\partial z}"], latex=True).exprs
    assert right == sp.Derivative(z**2, z, evaluate=False)


def test_latex_catalog_loss_by_name(catalog: Catalog) -> None:
    expr = latex(r"\frac{\partial}{\partial z} \operatorname{toy\_bce}(z, y)", catalog=catalog)
    assert isinstance(expr, sp.Derivative)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (r"\frac{\partial L}{\partial z}", "undefined name"),
        (r"\foo(x)", "unsupported command"),
        (r"x +", "unexpected"),
        (r"(x", r"expected '\)'"),
        (r"\frac{1}{0}", "undefined"),
        (r"x ? y", "unexpected character"),
        (r"\frac{\partial^2}{\partial z} z", "orders"),
    ],
)
def test_latex_errors(source: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(source, latex=True)


def test_latex_error_column_points_at_the_command() -> None:
    with pytest.raises(ParseError) as caught:
        parse(r"x + \foo", latex=True)
    assert caught.value.column == 5


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"\frac{d}{dz} z^2", sp.Derivative(z**2, z, evaluate=False)),
        (r"\frac{d^2}{dz^2} z^3", sp.Derivative(z**3, (z, 2), evaluate=False)),
        (r"\frac{\mathrm{d}}{\mathrm{d}x} x^2", sp.Derivative(x**2, x, evaluate=False)),
        (r"L = z^3; \frac{dL}{dz}", sp.Derivative(z**3, z, evaluate=False)),
        (r"\frac{\partial^2}{\partial x \partial y} x^2 y", sp.Derivative(x**2 * y, x, y, evaluate=False)),
        (r"\frac{d + x}{2}", (sp.Symbol("d", real=True) + x) / 2),
        (r"\min(x, y)", sp.Min(x, y)),
        (r"\left| x - y \right|", sp.Abs(x - y)),
        (r"e^z + e^{-z}", sp.exp(z) + sp.exp(-z)),
        (r"\sigma(z)\cdot\sigma(-z)", sigmoid(z) * sigmoid(-z)),
        (r"\cosh(x) - \sinh x", sp.cosh(x) - sp.sinh(x)),
        (r"\Delta + \varepsilon + \theta", sum(sp.Symbol(n, real=True) for n in ("Delta", "epsilon", "theta"))),
        (r"\hat{y} - \tilde{y} + \bar{y}", sum(sp.Symbol(n, real=True) for n in ("y_hat", "-y_tilde", "y_bar"))
         if False else sp.Symbol("y_hat", real=True) - sp.Symbol("y_tilde", real=True) + sp.Symbol("y_bar", real=True)),
    ],
)
def test_latex_more_constructs(source: str, expected: sp.Expr) -> None:
    assert latex(source) == expected


def test_latex_sum_with_hatted_vector_entries_and_the_definition_in_the_same_input() -> None:
    formula = parse(r"L = -\sum_{k=1}^{K} y_k \log \hat{y}_k; \frac{\partial L}{\partial \hat{y}_1}", latex=True)
    assert isinstance(formula.expr, sp.Derivative)
    assert {v.name for v in formula.scope.variables} == {"y", "y_hat", "K"}


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        (r"\frac{1}{x} + \foo", "unsupported command", 15),
        (r"\log_2 x", "unexpected '_'", 5),
        (r"\frac{dL}{dz}", "undefined name", 8),
        (r"\sum_{1}^{K} y_k", "summation index", 7),
        (r"x + (y", "expected ')'", 7),
        (r"\frac{\partial^9}{\partial z^9} z", "at most 6", 16),
    ],
)
def test_latex_errors_point_at_the_offending_position(source: str, message: str, column: int) -> None:
    with pytest.raises(ParseError, match=re.escape(message)) as caught:
        parse(source, latex=True)
    assert caught.value.column == column, str(caught.value)
