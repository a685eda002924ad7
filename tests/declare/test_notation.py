"""Tests for symloss.declare.notation: domains as assumptions and as sampling regions."""

import random
from fractions import Fraction

import pytest
import sympy as sp

from symloss.declare import notation as n


@pytest.mark.parametrize(
    ("domain", "facts"),
    [
        (n.REAL, {"real": True}),
        (n.POSITIVE, {"real": True, "positive": True}),
        (n.NONNEGATIVE, {"real": True, "nonnegative": True}),
        (n.UNIT_OPEN, {"real": True, "positive": True}),
        (n.UNIT_HALF_OPEN, {"real": True, "nonnegative": True}),
        (n.BINARY, {"real": True, "integer": True, "nonnegative": True}),
        (n.SIGNED, {"real": True, "integer": True}),
        (n.CLASS_COUNT, {"real": True, "integer": True, "positive": True}),
        (n.interval("negative", None, 0), {"real": True, "negative": True}),
    ],
)
def test_assumptions_follow_the_domain(domain: n.Domain, facts: dict[str, bool]) -> None:
    assert domain.assumptions() == facts


@pytest.mark.parametrize(
    "domain", [n.REAL, n.POSITIVE, n.NONNEGATIVE, n.UNIT_OPEN, n.UNIT_CLOSED, n.BINARY, n.SIGNED, n.CLASS_COUNT]
)
def test_samples_lie_in_the_domain(domain: n.Domain) -> None:
    rng = random.Random(7)
    points = [domain.sample(rng) for _ in range(300)]
    assert all(isinstance(p, Fraction) for p in points)
    assert all(domain.contains(p) for p in points)


def test_open_bounds_are_excluded_and_closed_included() -> None:
    assert not n.UNIT_OPEN.contains(0) and not n.UNIT_OPEN.contains(1)
    assert n.UNIT_CLOSED.contains(0) and n.UNIT_CLOSED.contains(1)
    assert n.UNIT_HALF_OPEN.contains(0) and not n.UNIT_HALF_OPEN.contains(1)
    assert n.SIGNED.contains(-1) and not n.SIGNED.contains(0)


def test_real_samples_reach_both_signs_and_several_scales() -> None:
    rng = random.Random(1)
    points = [n.REAL.sample(rng) for _ in range(500)]
    assert min(points) < -5 and max(points) > 5
    assert any(abs(p) < Fraction(1, 10) for p in points)


def test_var_carries_assumptions_and_vector_entries_inherit_them() -> None:
    p = n.var("p", n.UNIT_OPEN)
    assert p.symbol.is_positive
    q = n.vector("q", n.SIMPLEX)
    k = n.index("k")
    assert q.is_vector and q.symbol[k.symbol].is_positive
    assert k.symbol.is_integer and k.symbol.is_positive


def test_scope_merges_without_duplicates() -> None:
    z, y = n.var("z"), n.var("y", n.BINARY)
    scope = n.Scope((z,)) + (z, y)  # noqa: RUF005 - Scope.__add__, not a tuple
    assert [v.name for v in scope.variables] == ["z", "y"]
    assert scope.domains()[y.symbol] is n.BINARY
    assert scope.latex_names()[z.symbol] == "z"


def test_domains_with_the_same_name_but_other_assumptions_give_other_symbols() -> None:
    assert n.var("x", n.POSITIVE).symbol != n.var("x", n.REAL).symbol == sp.Symbol("x", real=True)


def test_var_carries_what_none_means_as_an_expression() -> None:
    unset = n.Unset(1, "unweighted")
    assert unset.value == sp.S.One and isinstance(unset.value, sp.Expr)
    assert n.var("w", n.POSITIVE, default=2.0, unset=unset).unset is unset
    assert n.var("w", n.POSITIVE, default=2.0).unset is None
