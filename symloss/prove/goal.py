"""A symbolic goal and a strategy for it.

A goal is ``expr == 0`` or ``expr (relation) 0`` under the declared domains (and the
given equations, such as Σ_k y_k = 1); a strategy is a named predicate on goals that is
True only on proof.  The strategies themselves are in :mod:`symloss.prove.strategies`
and :mod:`symloss.prove.class_sums`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import sympy as sp

from symloss.declare.notation import Domain

MAX_CASES = 64  # the most cases a goal is split into (finite-set values, interval ends)


@dataclass(frozen=True)
class Goal:
    """A symbolic goal: ``expr == 0`` (relation "==") or ``expr (relation) 0``.

    ``var``/``point`` carry the hint of a sign claim (convex in var with a
    stationary point at var = point).
    """

    expr: sp.Expr
    relation: str
    domains: Mapping[sp.Basic, Domain]
    given: tuple[sp.Eq, ...] = ()
    var: sp.Basic | None = None
    point: sp.Expr | None = None

    def at(self, expr: sp.Expr, relation: str | None = None) -> Goal:
        """The same setting, another expression (and relation); no hint."""
        return replace(self, expr=expr, relation=relation or self.relation, var=None, point=None)


@dataclass(frozen=True)
class Strategy:
    """A named way of proving a goal: ``holds(goal)`` is True only on proof."""

    name: str
    holds: Callable[[Goal], bool]


def is_zero(expr: sp.Expr) -> bool:
    return sp.sympify(expr) == 0
