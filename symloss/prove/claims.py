"""A claim as the prover sees it, on the elementary forms (:func:`~symloss.declare.functions.to_elementary`).

* the numeric view, :class:`Comparison`: ``left (relation) right`` at every point of the
  domain (a derivative claim compares d^n lhs / d var^n with rhs; a minimizer claim
  compares f with f at the claimed point);
* the symbolic view: alternative sets of :class:`~symloss.prove.goal.Goal`, each of which
  proves the claim (a minimizer globally by convexity with a stationary point inside
  var's interval, or locally by f'(p) = 0 and f''(p) > 0);
* the declared domains, completed with class index and class count for undeclared
  structural symbols.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from symloss.declare.functions import to_elementary
from symloss.declare.loss import Claim, ClaimKind
from symloss.declare.notation import CLASS_COUNT, INDEX, REAL, Domain
from symloss.prove.goal import Goal
from symloss.prove.numeric import class_counts, structural_symbols
from symloss.prove.strategies import in_domain


def elementary(expr: sp.Expr) -> sp.Expr:
    """The expression with named functions (sigmoid, softplus, ...) written in exp and log."""
    return to_elementary(sp.sympify(expr))


def _derivative(claim: Claim) -> sp.Expr:
    """d^order lhs / d var^order, from the elementary form (never fdiff of named functions)."""
    return sp.diff(elementary(claim.lhs), claim.var, claim.order)


@dataclass(frozen=True)
class Comparison:
    """The numeric view of a claim: ``left (relation) right`` at every point."""

    left: sp.Expr
    right: sp.Expr
    relation: str


def comparison(claim: Claim) -> Comparison:
    """What the numeric check compares, by claim kind."""
    lhs, rhs = elementary(claim.lhs), elementary(claim.rhs)
    if claim.kind is ClaimKind.DERIVATIVE:
        return Comparison(_derivative(claim), rhs, "==")
    if claim.kind is ClaimKind.SIGN:
        return Comparison(lhs, sp.S.Zero, claim.relation)
    if claim.kind is ClaimKind.INEQUALITY:
        return Comparison(lhs, rhs, claim.relation)
    if claim.kind is ClaimKind.MINIMIZER:
        return Comparison(lhs, lhs.subs(claim.var, elementary(claim.point)), ">=")
    return Comparison(lhs, rhs, "==")


def base_goal(claim: Claim, expr: sp.Expr, relation: str) -> Goal:
    """``expr (relation) 0`` under the claim's domains and given equations."""
    return Goal(expr, relation, claim_domains(claim, expr), claim.given)


def claim_goals(claim: Claim) -> list[tuple[str, list[Goal]]]:
    """Alternative sets of goals that each prove the claim, with a name for each set."""
    lhs, rhs = elementary(claim.lhs), elementary(claim.rhs)
    if claim.kind in (ClaimKind.IDENTITY, ClaimKind.DERIVATIVE):
        left = _derivative(claim) if claim.kind is ClaimKind.DERIVATIVE else lhs
        return [("", [base_goal(claim, left - rhs, "==")])]
    if claim.kind in (ClaimKind.SIGN, ClaimKind.INEQUALITY):
        expr = lhs - rhs if claim.kind is ClaimKind.INEQUALITY else lhs
        goal = base_goal(claim, expr, claim.relation)
        hint = claim.point if claim.point is None else elementary(claim.point)
        return [("", [replace(goal, var=claim.var, point=hint)])]
    return _minimizer_goals(claim, lhs)


def _minimizer_goals(claim: Claim, f: sp.Expr) -> list[tuple[str, list[Goal]]]:
    """Global: f convex in var and stationary at the point, which lies in var's
    interval.  Local: f'(point) = 0 and f''(point) > 0."""
    v, p = claim.var, elementary(claim.point)
    slope, curvature = sp.diff(f, v), sp.diff(f, v, 2)
    base = base_goal(claim, f, ">=")
    stationary = base.at(slope.subs(v, p), "==")
    peak = base.at(curvature.subs(v, p), ">")
    local = ("stationary at var=point with second derivative > 0 there", [stationary, peak])
    if not (isinstance(v, sp.Symbol) and in_domain(p, base.domains.get(v, REAL), base)):
        return [local]
    return [("convex in var with a stationary point at var=point", [stationary, base.at(curvature, ">=")]), local]


def claim_domains(claim: Claim, expr: sp.Expr) -> dict[sp.Basic, Domain]:
    """Declared domains, plus class index and class count for undeclared structural symbols."""
    domains = dict(claim.scope.domains())
    counts = class_counts(expr)
    for s in structural_symbols(expr) - set(domains):
        domains[s] = CLASS_COUNT if s in counts else INDEX
    return domains
