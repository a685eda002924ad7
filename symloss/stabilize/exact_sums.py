r"""Stability rules on exact sums: where an argument is the sum of two float inputs (or an input and a
constant), the kernel carries the sum exactly (:class:`~symloss.stabilize.primitives.OfExactSumBase`)
and an addition formula adds the low part; σ(a) − q for a constant q through an exact logit q − a, so
that it vanishes at its root; :math:`|x + y| + c` as :math:`(|h| + c) + \operatorname{sign}(h)\,l`
(:class:`~symloss.stabilize.exact_sum_primitives.abs_of_sum_plus`), so that an ε-insensitive
:math:`|\hat y - y| - \varepsilon` keeps the residual's low part where the difference cancels
(:math:`\hat y = 4.9\cdot10^{260}`, :math:`y = -\varepsilon = -1.8\cdot10^{308}`: the residual overflows,
:math:`|r| - \varepsilon = 4.9\cdot10^{260}`)."""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from symloss.declare.functions import sigmoid
from symloss.stabilize.engine import Rewrite, Rule, terms_replaced
from symloss.stabilize.exact_sum_primitives import abs_of_sum_plus
from symloss.stabilize.identities import (
    C,
    P,
    Q,
    a,
    b,
    claim,
    s,
    t,
)
from symloss.stabilize.primitives import (
    OfExactSumBase,
    logcosh,
    logcosh_of_sum,
    sech2,
    sech2_of_sum,
    sigmoid_expm1,
    square_of_sum,
    tanh_of_sum,
)

CONSTANT_DIGITS = 40


def float_term(term: sp.Expr) -> bool:
    """A float the kernel holds exactly: an input (scalar or class-vector entry) or its negation."""
    return isinstance(term, sp.Symbol | sp.Indexed) or isinstance(-term, sp.Symbol | sp.Indexed)


def _constant(value: sp.Expr) -> sp.Float:
    """A real constant as a 40-digit float: an atom, which common subexpression elimination leaves
    in place for the printer to split into two floats (its value exact to 2^-130)."""
    return sp.Float(sp.N(value, CONSTANT_DIGITS), CONSTANT_DIGITS)


def exact_terms(argument: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """``(x, y)`` when ``argument`` is ``x + y`` with ``x`` a float input (or its negation) and ``y``
    another one or a real constant (returned as :func:`_constant`), else None."""
    if not isinstance(argument, sp.Add) or len(argument.args) != 2:
        return None
    x, y = argument.args
    if float_term(y) and not float_term(x):
        x, y = y, x
    if float_term(x) and float_term(y):
        return x, y
    if float_term(x) and y.is_number and y.is_extended_real and y.is_finite:
        return x, _constant(y)
    return None


def _of_exact_sum(matches: Callable[[sp.Basic], bool], primitive: type[OfExactSumBase]) -> Rewrite:
    """f(x + y) → primitive(x, y) for each subexpression ``matches`` accepts whose only argument (the
    base, for a power) is an exact two-term sum."""

    def argument(e: sp.Basic) -> sp.Expr:
        return e.base if isinstance(e, sp.Pow) else e.args[0]

    def is_candidate(e: sp.Basic) -> bool:
        return matches(e) and exact_terms(argument(e)) is not None

    return lambda expr: expr.replace(is_candidate, lambda e: primitive(*exact_terms(argument(e))))


def _sigmoid_minus_constant_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""c·σ(a) + d → −(c + d)·σ(a)·expm1(logit(q) − a) with q = −d/c in (0, 1), for two terms of a sum
    (:class:`~symloss.stabilize.primitives.sigmoid_expm1`: logit q − a an exact sum, so that it vanishes
    where σ(a) = q)."""

    def pair(add: sp.Add) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
        constants = [t for t in add.args if t.is_number]
        for term in add.args:
            factors = sp.Mul.make_args(term)
            sigmoids = [f for f in factors if isinstance(f, sigmoid)]
            scale = term / sigmoids[0] if len(sigmoids) == 1 else None
            if scale is None or not scale.is_number or not scale.is_nonzero or len(constants) != 1:
                continue
            q = -constants[0] / scale
            if q.is_positive and (1 - q).is_positive:
                return term, constants[0], sigmoids[0]
        return None

    def rewrite(add: sp.Add) -> sp.Expr:
        term, constant, s = pair(add)
        scale = term / s
        q = -constant / scale
        rest = sp.Add(*(t for t in add.args if t not in (term, constant)))
        return rest - scale * (1 - q) * sigmoid_expm1(s.args[0], _constant(sp.log(q / (1 - q))))

    return expr.replace(lambda e: isinstance(e, sp.Add) and pair(e) is not None, rewrite)


def _abs_plus(add: sp.Basic) -> tuple[tuple[sp.Expr, sp.Expr], sp.Expr] | None:
    r"""((:math:`|x + y|`, c), abs_of_sum_plus(x, y, c)) for the first term :math:`|x + y|` of the sum ``add``
    with x, y float inputs (or their negations) and another term c a float input (or its negation); None
    otherwise."""
    if not isinstance(add, sp.Add):
        return None
    plain = [term for term in add.args if float_term(term)]
    for term in add.args:
        terms = exact_terms(term.args[0]) if isinstance(term, sp.Abs) else None
        if plain and terms is not None and all(float_term(x) for x in terms):
            return (term, plain[0]), abs_of_sum_plus(*terms, plain[0])
    return None


_tanh_x, _tanh_b = sp.tanh(a), sp.tanh(b)
_eps = _tanh_x * _tanh_b
_sech2_correction = -(_tanh_b**2 + _eps * (2 + _eps)) / (1 + _eps) ** 2


EXACT_SUMS: tuple[Rule, ...] = (
    Rule("logcosh_of_exact_sum",
         (claim("logcosh_of_exact_sum, step 1: cosh(x + y) = cosh x cosh y (1 + tanh x tanh y)",
                sp.cosh(a + b), sp.cosh(a) * sp.cosh(b) * (1 + _eps)),
          claim("logcosh_of_exact_sum, step 2: log(A B C) = log A + log B + log C for A, B, C > 0 (C = 1 + tanh x "
                "tanh y = cosh(x + y)/(cosh x cosh y) > 0 by step 1)",
                sp.log(P * Q * C), sp.log(P) + sp.log(Q) + sp.log(C))),
         _of_exact_sum(lambda e: isinstance(e, logcosh), logcosh_of_sum),
         logcosh(a - b)),
    Rule("tanh_of_exact_sum",
         (claim("tanh_of_exact_sum: tanh(x + y) = tanh x + tanh y (1 - tanh(x)^2)/(1 + tanh x tanh y)",
                sp.tanh(a + b), _tanh_x + _tanh_b * (1 - _tanh_x**2) / (1 + _eps)),),
         _of_exact_sum(lambda e: isinstance(e, sp.tanh), tanh_of_sum),
         sp.tanh(a - b)),
    Rule("sech2_of_exact_sum",
         (claim("sech2_of_exact_sum: sech(x + y)^2 = sech(x)^2 (1 + c), c = -(tanh(y)^2 + e (2 + e))/(1 + e)^2, "
                "e = tanh x tanh y", 1 / sp.cosh(a + b) ** 2, (1 + _sech2_correction) / sp.cosh(a) ** 2),),
         _of_exact_sum(lambda e: isinstance(e, sech2), sech2_of_sum),
         sech2(a - b)),
    Rule("square_of_exact_sum",
         (claim("square_of_exact_sum: (x + y)^2 = x^2 + y (2x + y)", (a + b) ** 2, a**2 + b * (2 * a + b)),),
         _of_exact_sum(lambda e: isinstance(e, sp.Pow) and e.exp == 2, square_of_sum),
         (a - b) ** 2),
    Rule("sigmoid_minus_constant",
         (claim("sigmoid_minus_constant: sigma(a) - q = -(1 - q) sigma(a) expm1(log(q/(1 - q)) - a), 0 < q < 1",
                sigmoid(a) - s, -(1 - s) * sigmoid(a) * (sp.exp(sp.log(s / (1 - s)) - a) - 1)),
          claim("sigmoid_minus_constant, expm1 of the exact sum: exp(x + y) - 1 = (exp(x) - 1) + exp(x) (exp(y) - 1)",
                sp.exp(a + b) - 1, (sp.exp(a) - 1) + sp.exp(a) * (sp.exp(b) - 1)),
          claim("sigmoid_minus_constant, below the root: sigma(a) (exp(L - a) - 1) = (exp(L) - exp(a))/(1 + exp(a))",
                sigmoid(a) * (sp.exp(b - a) - 1), (sp.exp(b) - sp.exp(a)) / (1 + sp.exp(a)))),
         _sigmoid_minus_constant_rewrite,
         3 * sigmoid(a) - 2),
    Rule("abs_of_exact_sum_plus",
         (claim("abs_of_exact_sum_plus: |x + y| + c = sign(x + y) (x + y) + c", sp.Abs(a + b) + t,
                sp.sign(a + b) * (a + b) + t),
          claim("abs_of_exact_sum_plus: sign(h) (h + l) + c = (|h| + c) + sign(h) l (sign(h + l) = sign(h) for "
                "h + l = x + y exactly, h = fl(x + y))",
                sp.sign(a) * (a + b) + t, (sp.Abs(a) + t) + sp.sign(a) * b),
          claim("abs_of_exact_sum_plus, the halves: |x + y| + c = 2 (|x/2 + y/2| + c/2)",
                sp.Abs(a + b) + t, 2 * (sp.Abs(a / 2 + b / 2) + t / 2))),
         lambda expr: terms_replaced(expr, _abs_plus),
         sp.Max(0, sp.Abs(a - b) - t)),
)
