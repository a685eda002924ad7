"""The numeric cross-check of a claim: both sides compared at sampled points of its domain.

Each point is judged at 30 digits; a disagreement beyond 10^(-digits/2)·max(1, |left|,
|right|) is kept only when 60 digits confirm it, and it refutes the claim.  For a strict
relation, exact points where both sides touch (exp(x) = x + 1 at x = 0) refute it too.
A point where a side is undefined on one side only disagrees; a point where a side is
beyond reach (memory, recursion) judges nothing.  A symbolic proof counts only if enough
points agreed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice, product

import mpmath
import sympy as sp

from symloss.declare.loss import Claim, ClaimKind
from symloss.declare.notation import CLASS_COUNT, REAL, Domain, Scope, Var
from symloss.prove.claims import Comparison, claim_domains, elementary
from symloss.prove.numeric import class_counts, evaluate, holds, sample_points

LOW_DIGITS, HIGH_DIGITS = 30, 60
SAMPLED_POINTS = 40
NUMERIC_ERRORS = (ValueError, TypeError, ZeroDivisionError, ArithmeticError, KeyError, IndexError)
RESOURCE_ERRORS = (MemoryError, RecursionError)  # the point is beyond reach, not outside the domain


@dataclass(frozen=True)
class Disagreement:
    point: dict[sp.Basic, object]
    left: object
    right: object
    exact: bool = False  # both sides exactly equal where a strict relation is claimed


@dataclass(frozen=True)
class NumericCheck:
    agreeing: int
    disagreement: Disagreement | None = None


@dataclass(frozen=True)
class Unevaluable:
    """A value too large to compute here (e.g. exp(exp(exp(30))) exhausts memory).

    Not an undefined value: a point where either side is unevaluable judges
    nothing (neither agreement nor disagreement)."""

    reason: str


def value_at(expr: sp.Expr, point: Mapping[sp.Basic, object], digits: int) -> object:
    """``expr`` at ``point`` to ``digits`` digits; an undefined value as its exception, a value
    beyond reach as :class:`Unevaluable`."""
    try:
        return evaluate(expr, point, digits=digits)
    except NUMERIC_ERRORS as error:
        return error
    except RESOURCE_ERRORS as error:
        return Unevaluable(type(error).__name__)


def finite_real(value: object) -> bool:
    """Whether the value is a finite real number (a complex one with zero imaginary part counts)."""
    if isinstance(value, mpmath.mpc) and value.imag == 0:
        value = value.real
    return isinstance(value, mpmath.mpf) and bool(mpmath.isfinite(value))


def real(value: object) -> mpmath.mpf:
    """The real part of an mpmath number."""
    return value.real if isinstance(value, mpmath.mpc) else value


def violated(left: object, right: object, relation: str, digits: int) -> bool | None:
    """True if ``left (relation) right`` fails beyond 10^(-digits/2)·max(1, |left|, |right|);
    None if the point cannot judge (neither side finite and real, or a side unevaluable)."""
    if isinstance(left, Unevaluable) or isinstance(right, Unevaluable):
        return None
    finite = finite_real(left), finite_real(right)
    if not all(finite):
        return True if any(finite) else None
    with mpmath.workdps(digits):
        a, b = real(left), real(right)
        tolerance = mpmath.mpf(10) ** (-(digits // 2)) * max(1, abs(a), abs(b))
        gap = {"==": abs(a - b), ">=": b - a, ">": b - a, "<=": a - b, "<": a - b}[relation]
        return bool(gap > tolerance)


def sampled_symbols(c: Comparison, domains: Mapping[sp.Basic, Domain]) -> set[sp.Basic]:
    """The symbols and vectors of both sides to sample (not entries such as z[i], nor a vector's
    label); a class count only where it is declared as one."""
    exprs = (c.left, c.right)
    symbols = set().union(*(e.free_symbols for e in exprs)) | set().union(*(e.atoms(sp.IndexedBase) for e in exprs))
    labels = {b.label for e in exprs for b in e.atoms(sp.IndexedBase)}
    symbols = {s for s in symbols if not isinstance(s, sp.Indexed) and s not in labels}
    return {s for s in symbols if domains.get(s) == CLASS_COUNT or s not in set().union(*map(class_counts, exprs))}


def scope_for(claim: Claim, expr: sp.Expr) -> Scope:
    """The scope to sample ``expr`` in: the claim's declared domains, completed."""
    domains = claim_domains(claim, expr)
    return Scope(tuple(Var(s, d, str(s)) for s, d in domains.items()))


def _near_point(claim: Claim, points: list[dict]) -> list[dict]:
    """Minimizer: the points again with var just beside the claimed minimizer."""
    domain = claim.scope.domains().get(claim.var, REAL)
    if not isinstance(claim.var, sp.Symbol) or domain.is_finite_set:
        return []
    near = []
    for point in points:
        at = value_at(elementary(claim.point), point, HIGH_DIGITS)
        if not finite_real(at):
            continue
        centre = Fraction(str(mpmath.nstr(real(at), 40, min_fixed=-mpmath.inf, max_fixed=mpmath.inf)))
        for step in (Fraction(1, 10), Fraction(-1, 10), Fraction(1, 1000), Fraction(-1, 1000)):
            if domain.contains(centre + step):
                near.append({**point, claim.var: centre + step})
    return near


def numeric_check(claim: Claim, c: Comparison, *, n: int = SAMPLED_POINTS, seed: int = 0) -> NumericCheck:
    """Compare both sides at sampled points at 30 digits; a disagreement is
    kept only if it is confirmed at 60 digits."""
    scope = scope_for(claim, c.left - c.right)
    points = sample_points(scope, sampled_symbols(c, scope.domains()), n, seed, claim.given)
    if claim.kind is ClaimKind.MINIMIZER:
        points = _near_point(claim, points) + points
    agreeing = 0
    for point in points:
        verdict = violated(value_at(c.left, point, LOW_DIGITS), value_at(c.right, point, LOW_DIGITS), c.relation,
                           LOW_DIGITS)
        if verdict:
            left, right = value_at(c.left, point, HIGH_DIGITS), value_at(c.right, point, HIGH_DIGITS)
            if violated(left, right, c.relation, HIGH_DIGITS):
                return NumericCheck(agreeing, Disagreement(point, left, right))
        elif verdict is False:
            agreeing += 1
    if c.relation in ("<", ">"):
        return NumericCheck(agreeing, _touching(claim, c, scope))
    return NumericCheck(agreeing)


TOUCHING_CANDIDATES = (0, 1, -1)  # exact values tried for each variable, with the closed ends of its domain
MAX_TOUCHING_POINTS = 64


def _touching(claim: Claim, c: Comparison, scope: Scope) -> Disagreement | None:
    """A point where a strict ``left < right`` (or ``>``) fails by equality.

    Sampled points almost never hit the isolated points where both sides
    touch (exp(x) = x + 1 only at x = 0), so each scalar variable also takes
    0, 1, -1 and the closed ends of its interval; a point counts only if
    left - right is exactly zero there (SymPy, exact rationals) and both
    sides are finite reals at 60 digits.
    """
    domains = scope.domains()
    symbols = sorted(sampled_symbols(c, domains), key=str)
    if any(isinstance(s, sp.IndexedBase) or domains.get(s, REAL).vector is not None for s in symbols):
        return None
    choices = []
    for s in symbols:
        domain = domains.get(s, REAL)
        ends = [e for e, is_open in ((domain.low, domain.low_open), (domain.high, domain.high_open))
                if e is not None and not is_open]
        choices.append([Fraction(v) for v in dict.fromkeys((*TOUCHING_CANDIDATES, *ends)) if domain.contains(v)])
    difference = c.left - c.right
    for values in islice(product(*choices), MAX_TOUCHING_POINTS):
        point = dict(zip(symbols, values, strict=True))
        if not all(holds(g, point) for g in claim.given):
            continue
        exact = difference.xreplace({s: sp.Rational(v.numerator, v.denominator) for s, v in point.items()})
        if exact.is_zero is not True:
            continue
        left, right = value_at(c.left, point, HIGH_DIGITS), value_at(c.right, point, HIGH_DIGITS)
        if finite_real(left) and finite_real(right):
            return Disagreement(point, left, right, exact=True)
    return None
