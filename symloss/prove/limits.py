"""Limit claims: ``lhs -> rhs`` as ``var -> point``, by sympy.limit under the budget,
judged by values of lhs approaching the point (10^-3, 10^-6, 10^-9 from each side of a
finite point; 10^3, 10^6, 10^9 towards ±oo).

Proved when sympy.limit equals rhs (or a zero strategy proves the difference) and the
approaching values confirm it at sampled points of the other variables; refuted when
the limit differs from rhs at such a point at 30 and 60 digits and the approaching
values tend to the computed limit.
"""

from __future__ import annotations

import time
from functools import partial

import mpmath
import sympy as sp

from symloss.declare.loss import Claim
from symloss.prove.budget import Outcome, guarded, run_with_budget
from symloss.prove.claims import Comparison, base_goal, elementary
from symloss.prove.numeric import sample_points
from symloss.prove.numeric_check import (
    HIGH_DIGITS,
    LOW_DIGITS,
    finite_real,
    real,
    sampled_symbols,
    scope_for,
    value_at,
    violated,
)
from symloss.prove.strategies import ZERO_STRATEGIES, prove_core
from symloss.prove.verdict import Verdict, counterexample_of, text


def _symbolic_limit(claim: Claim) -> Outcome:
    """sympy.limit, then a zero proof of limit - rhs."""
    f, rhs = elementary(claim.lhs), elementary(claim.rhs)
    direction = "+" if claim.point.is_infinite else "+-"
    value = sp.limit(f, claim.var, claim.point, dir=direction)
    if value.has(sp.Limit, sp.AccumBounds) or value is sp.nan:
        return Outcome(False, f"sympy.limit gave {value}")
    if value == rhs:
        return Outcome(True, "sympy.limit", value=value)
    method = prove_core(base_goal(claim, value - rhs, "=="), ZERO_STRATEGIES)
    return Outcome(method is not None, f"sympy.limit, then {method}" if method else "sympy.limit", value=value)


def _approach(point: sp.Expr) -> list[tuple[sp.Expr, ...]]:
    """Sequences of values tending to the point (one per side for a finite point)."""
    if point == sp.oo:
        return [(sp.Integer(10) ** 3, sp.Integer(10) ** 6, sp.Integer(10) ** 9)]
    if point == -sp.oo:
        return [(-sp.Integer(10) ** 3, -sp.Integer(10) ** 6, -sp.Integer(10) ** 9)]
    steps = [sp.Integer(10) ** -n for n in (3, 6, 9)]
    return [tuple(point + s for s in steps), tuple(point - s for s in steps)]


def _limit_points(claim: Claim, f: sp.Expr) -> list[dict]:
    others = Comparison(f, sp.S.Zero, "==")
    scope = scope_for(claim, f)
    symbols = sampled_symbols(others, scope.domains()) - {claim.var}
    return sample_points(scope, symbols, 5, 0, claim.given)


def _approach_gaps(f: sp.Expr, claim: Claim, target: sp.Expr, point: dict) -> list[object]:
    """|f(v) - target| along each approach sequence (last value of each)."""
    gaps = []
    for sequence in _approach(claim.point):
        values = [value_at(f, {**point, claim.var: v}, LOW_DIGITS) for v in sequence]
        goal = value_at(target, point, LOW_DIGITS)
        gaps.append([abs(real(v) - real(goal)) if finite_real(v) and finite_real(goal) else None
                     for v in values])
    return gaps


def _approaches(gaps: list[list[object]], scale: object) -> bool:
    """Each sequence ends within 10^-3 of the target, or its gaps shrink."""
    return all(
        g[-1] is not None and (g[-1] <= mpmath.mpf("1e-3") * max(1, abs(scale)) or g[-1] < g[0]) for g in gaps
    )


def prove_limit(claim: Claim, budget: float, start: float) -> Verdict:
    """sympy.limit under the budget; proved when it equals the claim and the values
    approaching the point confirm it; refuted when the limit differs from the claim at a
    point of the other variables (two precisions) and the values approach the limit."""
    f, rhs = elementary(claim.lhs), elementary(claim.rhs)
    remaining = budget - (time.perf_counter() - start)
    outcome = run_with_budget(partial(guarded, partial(_symbolic_limit, claim)), remaining)
    points = _limit_points(claim, f)
    seconds = time.perf_counter() - start
    if outcome is None or outcome.value is None:
        return Verdict("unknown", f"tried sympy.limit: {'budget exhausted' if outcome is None else outcome.method}",
                       seconds)
    for point in points:
        claimed, computed = value_at(rhs, point, LOW_DIGITS), value_at(outcome.value, point, LOW_DIGITS)
        if violated(computed, claimed, "==", LOW_DIGITS) and violated(
            value_at(outcome.value, point, HIGH_DIGITS), value_at(rhs, point, HIGH_DIGITS), "==", HIGH_DIGITS
        ) and _approaches(_approach_gaps(f, claim, outcome.value, point), computed):
            last = _approach(claim.point)[0][-1]
            near = value_at(f, {**point, claim.var: last}, LOW_DIGITS)
            detail = (f"limit is {outcome.value} = {text(computed)}, claimed {text(claimed)}; "
                      f"at {claim.var} = {last} the expression is {text(near)}")
            return Verdict("refuted", "sympy.limit, confirmed numerically approaching the point",
                           time.perf_counter() - start, counterexample_of({**point, claim.var: last}), detail)
    if outcome.proved and points and all(
        _approaches(_approach_gaps(f, claim, rhs, p), value_at(rhs, p, LOW_DIGITS)) for p in points
    ):
        return Verdict("proved", f"{outcome.method}; values approaching the point agree",
                       time.perf_counter() - start)
    return Verdict("unknown", f"tried {outcome.method}", time.perf_counter() - start,
                   detail="limit and approach values inconclusive")
