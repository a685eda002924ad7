"""Tests for symloss.verify.plain_text: the plain-text grammar, its errors, the printer."""

from __future__ import annotations

import pytest
import sympy as sp

from symloss.declare.catalog import Catalog
from symloss.declare.functions import sigmoid, softplus
from symloss.declare.notation import BINARY, CLASS_COUNT, INDEX, POSITIVE, REAL, REAL_VECTOR, Scope, var
from symloss.verify.parse import ParseError, parse, parse_many
from symloss.verify.plain_text import to_text

x, y, z = (sp.Symbol(n, real=True) for n in "xyz")


def text(source: str, scope: Scope | None = None, catalog: Catalog | None = None) -> sp.Expr:
    return parse(source, scope, catalog).expr


# ---------------------------------------------------------------- plain text grammar


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x + 2*y", x + 2 * y),
        ("x^2 - x**3", x**2 - x**3),
        ("-x^2", -(x**2)),
        ("0.5*x", sp.Rational(1, 2) * x),
        ("1e-8", sp.Rational(1, 10**8)),
        ("2.5e3", sp.Integer(2500)),
        ("pi*E", sp.pi * sp.E),
        ("exp(x) + log(y)", sp.exp(x) + sp.log(y)),
        ("log1p(x)", sp.log(1 + x)),
        ("expm1(x)", sp.exp(x) - 1),
        ("sqrt(x)*abs(y)*sign(z)", sp.sqrt(x) * sp.Abs(y) * sp.sign(z)),
        ("tanh(x) + cosh(y) + sinh(z)", sp.tanh(x) + sp.cosh(y) + sp.sinh(z)),
        ("sigmoid(z) - softplus(z)", sigmoid(z) - softplus(z)),
        ("max(0, 1 - y*z) + min(x, y, z)", sp.Max(0, 1 - y * z) + sp.Min(x, y, z)),
        ("x/y/z", x / y / z),
        ("(x + y)*(x - y)", (x + y) * (x - y)),
    ],
)
def test_plain_text_grammar(source: str, expected: sp.Expr) -> None:
    assert text(source) == expected


def test_diff_forms_stay_unevaluated() -> None:
    assert text("diff(sigmoid(z), z)") == sp.Derivative(sigmoid(z), z, evaluate=False)
    assert text("diff(x**3, x, 2)") == sp.Derivative(x**3, (x, 2), evaluate=False)
    assert text("diff(x*y, x, y)") == sp.Derivative(x * y, x, y, evaluate=False)


def test_sum_and_indexed_names() -> None:
    formula = parse("sum(y[k]*log(p[k]), k, 1, K)")
    domains = {v.name: v.domain for v in formula.scope.variables}
    assert domains == {"y": REAL_VECTOR, "p": REAL_VECTOR, "K": CLASS_COUNT}
    assert isinstance(formula.expr, sp.Sum)
    free_index = parse("z[i] - y[i]")
    assert {v.name: v.domain for v in free_index.scope.variables}["i"] == INDEX


def test_symbols_take_their_assumptions_from_the_scope() -> None:
    scope = Scope((var("x", POSITIVE), var("y", POSITIVE)))
    expr = text("log(x*y)", scope)
    assert sp.expand_log(expr) == sp.log(sp.Symbol("x", positive=True)) + sp.log(sp.Symbol("y", positive=True))
    assert text("x", None).is_real


def test_both_sides_share_one_symbol_per_name() -> None:
    parsed = parse_many(["sum(y[k], k, 1, K)", "K*y[1]"])
    left, right = parsed.exprs
    assert left.free_symbols & right.free_symbols


def test_catalog_losses_apply_with_positional_arguments(catalog: Catalog) -> None:
    formula = parse("diff(toy_bce(t, y), t)", catalog=catalog)
    names = {v.name: v.domain for v in formula.scope.variables}
    assert names["y"] == BINARY  # a bare argument takes the loss argument's domain
    assert names["t"] == REAL
    focal = parse("toy_focal(z, 1)", catalog=catalog)
    assert "gamma" in {v.name for v in focal.scope.variables}  # an unset parameter keeps its domain
    assert text("toy_focal(z, 1, 0)", catalog=catalog) == -sp.log(sigmoid(z))


def test_vector_losses_take_vector_names_and_bring_their_given(catalog: Catalog) -> None:
    formula = parse("diff(toy_ce(s, q), s[j])", catalog=catalog)
    assert formula.given and "q" in str(formula.given[0])
    with pytest.raises(ParseError, match="vector name"):
        parse("toy_ce(2*s, q)", catalog=catalog)


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("x + foo(y)", "unknown function 'foo'", 5),
        ("x + ", "syntax error", 5),
        ("exp", "is a function", 1),
        ("exp(x, y)", "one argument", 1),
        ("max(x)", "at least two", 1),
        ("x < y", "comparison", 1),
        ("x.real", "attribute", 1),
        ("x % y", "Mod", 1),
        ("x // y", "FloorDiv", 1),
        ("'s'", "constant", 1),
        ("1j", "constant", 1),
        ("True", "constant", 1),
        ("x if y else z", "conditional", 1),
        ("x[1:2]", "Slice", 3),
        ("f(x=1)", "plain function calls", 1),
        ("1/0", "undefined", 3),
        ("log(0)", "undefined", 1),
        ("x ^ 2000", "exponent", 5),
        ("diff(x, 2)", "variable", 1),
        ("diff(x, x, 9)", "order", 1),
        ("sum(y[k], k, 1, 100000)", "terms", 1),
        ("sum(y[k], k, 1/2, 3)", "integers", 1),
        ("y[k] + y", "both as a vector and as a scalar", 8),
        ("x\u00b2", "ASCII", 2),
        ("  ", "empty", 1),
    ],
)
def test_plain_text_errors_point_at_the_offending_text(source: str, message: str, column: int) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse(source)
    assert caught.value.column == column
    assert "^" in str(caught.value)


def test_to_text_rejects_what_the_grammar_cannot_say() -> None:
    with pytest.raises(ValueError, match="no plain-text form"):
        to_text(sp.Heaviside(x))


def test_nested_numeric_sums_are_bounded_by_their_total_terms() -> None:
    assert isinstance(text("sum(sum(y[j]*y[k], j, 1, 10), k, 1, 100)"), sp.Sum)
    with pytest.raises(ParseError, match="terms"):
        parse("sum(sum(sum(y[k]*y[j]*y[i], i, 1, 1000), j, 1, 1000), k, 1, 1000)")


def test_nested_sums_print_and_parse_back() -> None:
    expr = text("sum(sum(x[j]*y[k], j, 1, K), k, 1, K)")
    assert text(to_text(expr)) == expr
