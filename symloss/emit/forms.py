r"""The stable forms a kernel computes: the loss, gradient and Hessian, each split over the label's
finite set of values (one :class:`Branch` per value) and rewritten by the proved stability rules
(:mod:`symloss.stabilize.rules`), for the general case and for each set of switched options
(:class:`Switch`: a hyper-parameter given as None, or at a default of 0 that switches a term off).

Both the split and the switches are exact: a symbolic substitution of the label value or of the
parameter's value, before stabilization.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symloss.declare.likelihood import ClassMax
from symloss.declare.loss import Loss
from symloss.declare.notation import Var
from symloss.derive.chain import Derivation
from symloss.emit.blocks import scaled_exponential_regimes
from symloss.stabilize.engine import ProvedRule, stabilize
from symloss.stabilize.ratios import RESTORING
from symloss.stabilize.regimes import PrimitiveRegimes, Regimes, merged, primitive_regimes, regimes_of


@dataclass(frozen=True)
class Branch:
    """One stable form, valid where the label equals ``label`` (None: everywhere)."""

    label: object | None
    expr: sp.Expr
    rules: tuple[str, ...]
    regimes: tuple[Regimes, ...] = ()  # of each Piecewise in ``expr``: the definition's and the rules'
    primitives: tuple[PrimitiveRegimes, ...] = ()  # of each primitive in ``expr`` whose helper switches


@dataclass(frozen=True)
class Form:
    """A quantity (loss, gradient or Hessian) as branches over the label values."""

    textbook: sp.Expr
    branches: tuple[Branch, ...]

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for b in self.branches for name in b.rules))

    @property
    def regimes(self) -> tuple[Regimes, ...]:
        return merged(b.regimes for b in self.branches)

    @property
    def primitives(self) -> tuple[PrimitiveRegimes, ...]:
        """The regimes inside the helpers of the primitives the branches use, each primitive once."""
        return tuple(dict.fromkeys(r for b in self.branches for r in b.primitives))


@dataclass(frozen=True)
class Switch:
    """A run-time case in which a hyper-parameter has a fixed value: given as None (its declared
    ``unset`` value), or at a default of 0 that switches a term off."""

    param: Var
    value: sp.Expr
    condition: str


def stable_form(expr: sp.Expr, label: Var, rules: Sequence[ProvedRule], *, declared: bool = False) -> Form:
    """``expr`` split over ``label``'s finite set (if it has one), each branch stabilized; a ``declared``
    closed form keeps the grouping its declaration chose (it is not refactored)."""
    values = label.domain.values if not label.is_vector and label.symbol in expr.free_symbols else ()
    if not values:
        return Form(expr, (_branch(None, expr, rules, declared),))
    return Form(expr, tuple(_branch(v, expr.subs(label.symbol, v), rules, declared) for v in values))


def _branch(label: object | None, expr: sp.Expr, rules: Sequence[ProvedRule], declared: bool = False) -> Branch:
    """The better stabilized candidate of the expression and its factored form (a declared form: itself)."""
    candidates = [expr]
    if not declared and not expr.has(sp.Sum, ClassMax, sp.Piecewise):
        # factoring exposes the 1 - σ, p - 1 … that the rules rewrite; expanding would hide them
        with contextlib.suppress(sp.PolynomialError, TypeError, ValueError):
            candidates.append(sp.factor(expr))
    stabilized = [stabilize(c, rules) for c in candidates]
    # the candidate the most rules could rewrite keeps the most of its stable structure (a rule that only
    # undoes an expansion not counted); then the one with fewer expansions to undo; then the shorter
    best = min(stabilized, key=lambda s: (-len(set(s.rules) - RESTORING), len(set(s.rules) & RESTORING),
                                          sp.count_ops(s.expr), sp.default_sort_key(s.expr)))
    return Branch(label, best.expr, best.rules, regimes_of(best),
                  primitive_regimes(best.expr) + scaled_exponential_regimes(best.expr))


def forms_of(derivation: Derivation, rules: Sequence[ProvedRule], switches: Sequence[Switch] = ()) -> tuple[Form, ...]:
    """The stable value, gradient and Hessian, with each switched parameter replaced by its value
    (exact: a symbolic replacement, before the split over the label)."""
    loss = derivation.loss
    values = {switch.param.symbol: switch.value for switch in switches}

    def form(expr: sp.Expr, declared: bool) -> Form:
        return stable_form(expr.xreplace(values), loss.target, rules, declared=declared)

    return (form(derivation.computed_value, derivation.value is not None),
            form(derivation.gradient, derivation.gradient == loss.gradient_form),
            form(derivation.hessian, derivation.hessian == loss.hessian_form))


def switches_of(loss: Loss) -> tuple[Switch, ...]:
    """The run-time cases of fixed hyper-parameters: each option given as None (where it may be) and
    each option at a default of 0 (a term switched off, whose work the general program would still do)."""
    nullable = [Switch(v, v.unset.value, f"{v.name} is None") for v in loss.nullable]
    off = [Switch(v, sp.S.Zero, f"{v.name} == 0") for v in loss.params if v.default == 0]
    return (*nullable, *off)


def switch_choices(loss: Loss) -> list[tuple[Switch, ...]]:
    """Every non-empty set of switches of distinct parameters, the largest first (the order the kernel
    tests them in)."""
    switches = switches_of(loss)
    return [c for size in range(len(switches), 0, -1) for c in itertools.combinations(switches, size)
            if len({s.param.name for s in c}) == size]
