"""Tests for symloss.verify.assume: --assume strings into domains."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp

from symloss.declare.notation import CLASS_COUNT, SIMPLEX, Domain
from symloss.verify.assume import implied_equalities, parse_assumptions
from symloss.verify.parse import ParseError


def domains(*texts: str) -> dict[str, object]:
    return {v.name: v.domain for v in parse_assumptions(texts).variables}


def test_real_is_the_plain_real_line() -> None:
    assert domains("x real")["x"] == Domain("x real")
    assert parse_assumptions(["x real"]).variables[0].symbol == sp.Symbol("x", real=True)


@pytest.mark.parametrize(
    ("text", "low", "low_open", "high", "high_open"),
    [
        ("x > 0", 0, True, None, True),
        ("x >= 0", 0, False, None, True),
        ("x < 1", None, True, 1, True),
        ("x <= -2.5", None, True, Fraction(-5, 2), False),
        ("0 < p < 1", 0, True, 1, True),
        ("0 <= p <= 1", 0, False, 1, False),
        ("0 < p <= 1/2", 0, True, Fraction(1, 2), False),
    ],
)
def test_intervals(text: str, low: object, low_open: bool, high: object, high_open: bool) -> None:
    (domain,) = domains(text).values()
    assert (domain.low, domain.low_open, domain.high, domain.high_open) == (low, low_open, high, high_open)


def test_positive_bounds_become_sympy_assumptions() -> None:
    (p,) = parse_assumptions(["0 < p < 1"]).variables
    assert p.symbol.is_positive and p.symbol.is_real
    (x,) = parse_assumptions(["x > 0"]).variables
    assert sp.expand_log(sp.log(x.symbol * 2)) == sp.log(2) + sp.log(x.symbol)


@pytest.mark.parametrize(("text", "values"), [("y in {0, 1}", (0, 1)), ("y in {-1, 1}", (-1, 1)),
                                               ("t in {0.5, 1e-3, 2/3}", (Fraction(1, 2), Fraction(1, 1000),
                                                                          Fraction(2, 3)))])
def test_finite_sets(text: str, values: tuple[object, ...]) -> None:
    assert domains(text)["y" if "y" in text else "t"].values == values


def test_class_count_is_the_catalog_domain() -> None:
    assert domains("K integer >= 2")["K"] == CLASS_COUNT
    assert parse_assumptions(["K integer >= 2"]).variables[0].symbol.is_integer


def test_assumptions_about_one_name_intersect() -> None:
    (domain,) = domains("x > 0", "x < 1").values()
    assert (domain.low, domain.high) == (0, 1)
    assert domains("y in {-1, 0, 1}", "y >= 0")["y"].values == (0, 1)


def test_several_names_at_once() -> None:
    found = domains("x, y > 0")
    assert set(found) == {"x", "y"} and all(d.low == 0 for d in found.values())


def test_simplex_vectors_imply_that_they_sum_to_one() -> None:
    scope = parse_assumptions(["y in simplex"])
    (y,) = scope.variables
    assert y.is_vector and y.domain == SIMPLEX
    (equality,) = implied_equalities(scope)
    assert isinstance(equality.lhs, sp.Sum) and equality.rhs == 1


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("x >< 1", "expected a number", 4),
        ("x > y", "expected a number", 5),
        ("x is positive", "expected 'real'", 3),
        ("y in {0, 1", "expected ',' or '}'", 11),
        ("y in banana", "unknown set", 6),
        ("1 > x", "range", 3),
        ("x real extra", "unexpected", 8),
        ("", "empty", 1),
        ("__x > 0", "unexpected character", 1),
        ("x > 1e999999", "out of range", 5),
    ],
)
def test_errors_point_at_the_offending_text(text: str, message: str, column: int) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse_assumptions([text])
    assert caught.value.column == column


def test_contradictory_assumptions_are_an_error() -> None:
    with pytest.raises(ParseError, match="no value satisfies"):
        parse_assumptions(["x > 1", "x < 0"])
    with pytest.raises(ParseError, match="no value satisfies"):
        parse_assumptions(["y in {0, 1}", "y > 2"])
    with pytest.raises(ParseError, match="no value satisfies"):
        parse_assumptions(["n integer > 0", "n < 1"])
