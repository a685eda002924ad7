r"""Stability rules of differences of logarithms, which cancel where their arguments are close.

``log1p_difference``: :math:`A\operatorname{log1p}(a) - A\operatorname{log1p}(b)` (two terms of a sum, the
others kept) for :math:`a, b > -1`.  Where :math:`a \approx b` are large, the two logarithms are large and
close, and their difference keeps only their absolute accuracy: at :math:`a \approx b \approx 10^{120}`
the logarithms are about 276 and a difference of :math:`10^{-16}` has no correct digit.  With
:math:`\log(1 + a) - \log(1 + b) = \log(1 + (a - b)/(1 + b))`,

.. math:: \operatorname{log1p}(a) - \operatorname{log1p}(b) =
          \begin{cases} \operatorname{log1p}\big((a - b)/(1 + b)\big) & a \ge b \\
                        -\operatorname{log1p}\big((b - a)/(1 + a)\big) & \text{otherwise,} \end{cases}

the two branches the same identity with :math:`a` and :math:`b` swapped.  In either branch the argument
of log1p is :math:`\ge 0`, where log1p's condition number :math:`t/((1 + t)\operatorname{log1p}(t))` is at
most 1, so that the argument's rounding errors (a − b exact where :math:`b/2 \le a \le 2b`, Sterbenz;
otherwise one rounding, as 1 + b and the quotient) are not magnified: the result is accurate to a few ulp
of its own magnitude at every a, b.  The branch on :math:`a \ge b` is not an approximation's regime: both
branches are exact identities, and both are finite everywhere (the other branch's argument lies in
:math:`[-1, 0]` where the two are not equal).  The rule names no loss."""

from __future__ import annotations

import sympy as sp

from symloss.declare.notation import Scope, interval, var
from symloss.stabilize.engine import Rule, terms_replaced
from symloss.stabilize.identities import claim, u, w
from symloss.stabilize.primitives import expand_primitives, log1p

_ABOVE_MINUS_ONE = interval("> -1", -1)
_a_var, _b_var = var("a", _ABOVE_MINUS_ONE), var("b", _ABOVE_MINUS_ONE)
_a, _b = _a_var.symbol, _b_var.symbol
_SCOPE = Scope((_a_var, _b_var))


def log1p_difference(a: sp.Expr, b: sp.Expr) -> sp.Piecewise:
    r""":math:`\operatorname{log1p}(a) - \operatorname{log1p}(b)` for :math:`a, b > -1` with no cancellation:
    :math:`\operatorname{log1p}((a - b)/(1 + b))` where :math:`a \ge b`, else
    :math:`-\operatorname{log1p}((b - a)/(1 + a))` (log1p of a nonnegative argument either way)."""
    return sp.Piecewise((log1p((a - b) / (1 + b)), a >= b), (-log1p((b - a) / (1 + a)), True))


def _single_log1p(term: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """(the weight A, the argument a) of a term :math:`A\\operatorname{log1p}(a)` with one log1p factor."""
    calls = [f for f in sp.Mul.make_args(term) if isinstance(f, log1p)]
    if len(calls) != 1:
        return None
    return term / calls[0], calls[0].args[0]


def _difference(add: sp.Basic) -> tuple[tuple[sp.Expr, sp.Expr], sp.Expr] | None:
    r"""(the terms :math:`A\operatorname{log1p}(a)` and :math:`-A\operatorname{log1p}(b)` of the sum ``add``, their
    replacement :math:`A\,` :func:`log1p_difference`\ (a, b)), or None where the sum holds no such pair."""
    if not isinstance(add, sp.Add):
        return None
    singles = [(term, found) for term in add.args if (found := _single_log1p(term)) is not None]
    for i, (first, (weight, a)) in enumerate(singles):
        for second, (other, b) in singles[i + 1:]:
            if a != b and sp.expand(weight + other) == 0:
                if weight.could_extract_minus_sign():  # A D(a, b) = -A D(b, a): the weight without a minus sign
                    weight, a, b = other, b, a
                return (first, second), weight * log1p_difference(a, b)
    return None


LOG1P_DIFFERENCE = Rule(
    "log1p_difference",
    (claim("log1p_difference: log1p(a) - log1p(b) = log1p((a - b)/(1 + b)) for a, b > -1",
           sp.log(1 + _a) - sp.log(1 + _b), expand_primitives(log1p((_a - _b) / (1 + _b))), scope=_SCOPE),
     claim("log1p_difference, the other branch: log1p(a) - log1p(b) = -log1p((b - a)/(1 + a)) for a, b > -1",
           sp.log(1 + _a) - sp.log(1 + _b), expand_primitives(-log1p((_b - _a) / (1 + _a))), scope=_SCOPE)),
    lambda expr: terms_replaced(expr, _difference),
    log1p(u) - log1p(w),  # nonnegative symbols: the textbook form real at the tests' points
)

LOGS: tuple[Rule, ...] = (LOG1P_DIFFERENCE,)
