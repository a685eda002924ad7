r"""Series approximations: a function that no identity frees of cancellation, replaced by a truncated
series in an explicit regime, with a truncation bound the prover proves.  These rules are
*approximations*, not identities (:attr:`~symloss.stabilize.engine.Rule.approximation` states the
bound; the kernel's docstring shows it next to the rule's name).

``log1p_remainder_series``: :math:`g(t) = t - \log(1 + t)` for :math:`t \ge 0`, found in a sum as
:math:`A\operatorname{log1p}(t) - A t` (so also :math:`c^2(t - \operatorname{log1p}(t))` and its factored
:math:`-c\,(c\operatorname{log1p}(|r|/c) - |r|)`).  Near 0, :math:`g(t) \approx t^2/2` is the difference
of two numbers near t and loses :math:`\log_2(2/t)` bits.  With :math:`u = t/(2 + t)`, so that
:math:`1 + t = (1 + u)/(1 - u)` and :math:`\log(1 + t) = 2\operatorname{atanh} u` (Abramowitz and
Stegun, *Handbook of Mathematical Functions*, 4.1.27 and 4.6.22),

.. math:: g(t) = t u - 2(\operatorname{atanh} u - u),\qquad
          \operatorname{atanh} u - u = \sum_{k \ge 1} \frac{u^{2k+1}}{2k+1},

every term positive and :math:`t u \approx t^2/2` larger than the sum by a factor :math:`\ge 12`, so the
series form cancels nothing.  Truncated after :math:`u^{2N+1}` (:data:`TERMS` = N), the remainder
:math:`R_N(u) = \operatorname{atanh} u - \sum_{k=0}^{N} u^{2k+1}/(2k+1)` satisfies
:math:`0 \le R_N(u) \le u^{2N+3}/((2N+3)(1 - u^2))` for :math:`0 \le u < 1`, and
:math:`g(t) \ge t^2/(2(1 + t)) = 2u^2/(1 - u^2)`.  The prover proves the last inequality outright
(monotone from its end t = 0) and, for the first two, the derivatives of :math:`R_N` and of
:math:`u^{2N+3}/((2N+3)(1 - u^2)) - R_N` (rational functions, :math:`u^{2N+2}/(1 - u^2)` and
:math:`2u^{2N+4}/((2N+3)(1 - u^2)^2)`, both :math:`\ge 0` on :math:`[0, 1)`); that a function vanishing at
:math:`u = 0` with a nonnegative derivative is nonnegative is the mean value theorem, cited, not proved
here (the prover's direct proof of the two inequalities takes 15-20 s each, over the build's budget).
Hence the relative error of the truncated series
is at most :math:`u^{2N+1}/(2N+3)`, which for :math:`t < 1` (:math:`u < 1/3`) and N = 15 is
:math:`3^{-31}/33 < 2^{-54}`: below half an ulp.  From :math:`t = 1` on the textbook difference is kept:
it loses at most a factor :math:`\log(1 + t)/g(t) \le 2.26` to cancellation there.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from symloss.declare.loss import derivative, identity, inequality
from symloss.declare.notation import NONNEGATIVE, UNIT_HALF_OPEN, Scope, var
from symloss.stabilize.engine import Approximation, Rule
from symloss.stabilize.primitives import expand_primitives, log1p, square_ratio

TERMS = 15  # N: the series of atanh u truncated after u^(2N + 1)
REGIME = sp.Integer(1)  # T: the series is used for 0 <= t < T, i.e. u < T/(2 + T) = 1/3


def relative_bound(terms: int = TERMS, regime: sp.Rational = REGIME) -> Fraction:
    r"""The proved bound on the relative truncation error in the regime, :math:`U^{2N+1}/(2N+3)` with
    :math:`U = T/(2 + T)`, exactly."""
    top = Fraction(int(regime.p), int(regime.q))
    return (top / (2 + top)) ** (2 * terms + 1) / (2 * terms + 3)


_t = var("t", NONNEGATIVE).symbol
_u = var("u", UNIT_HALF_OPEN).symbol
_T_SCOPE = Scope((var("t", NONNEGATIVE),))
_U_SCOPE = Scope((var("u", UNIT_HALF_OPEN),))


def atanh_remainder(u: sp.Expr, terms: int = TERMS) -> sp.Expr:
    r""":math:`R_N(u) = \operatorname{atanh} u - \sum_{k=0}^{N} u^{2k+1}/(2k+1)`."""
    return sp.atanh(u) - sp.Add(*(u ** (2 * k + 1) / (2 * k + 1) for k in range(terms + 1)))


def truncation_bound(u: sp.Expr, terms: int = TERMS) -> sp.Expr:
    r""":math:`u^{2N+3}/((2N+3)(1 - u^2))`, the bound on :math:`R_N(u)` for :math:`0 \le u < 1`."""
    return u ** (2 * terms + 3) / ((2 * terms + 3) * (1 - u**2))


def log1p_remainder_series(t: sp.Expr, terms: int = TERMS) -> sp.Expr:
    r""":math:`t u\,(1 - 2\,\frac{u}{2 + t} \sum_{k=0}^{N-1} \frac{u^{2k}}{2k + 3})`, :math:`u = t/(2 + t)`:
    :math:`t u - 2\sum_{k=1}^{N} u^{2k+1}/(2k+1)` with :math:`u^2/t = u/(2 + t)` taken out, the sum in
    Horner form; the squares :math:`t^2` and :math:`u^2` computed as squares of ratios
    (:class:`~symloss.stabilize.primitives.square_ratio`), so that :math:`t = |r|/c` is not split into
    :math:`r^2` and :math:`c^2`, which underflow or overflow where :math:`t` does not."""
    u = t / (2 + t)
    inner = sp.S.Zero
    for k in reversed(range(terms)):
        inner = sp.Rational(1, 2 * k + 3) + square_ratio(t, 2 + t) * inner
    return square_ratio(*sp.fraction(t)) / (2 + t) * (1 - 2 * u / (2 + t) * inner)


def _remainder_in(expr: sp.Add) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr] | None:
    r"""(A, t, the two terms, the rest) where ``expr`` is :math:`A\operatorname{log1p}(t) - A t +` rest for a
    t known to be nonnegative."""
    for term in expr.args:
        logs = [f for f in sp.Mul.make_args(term) if isinstance(f, log1p)]
        if len(logs) != 1 or not logs[0].args[0].is_nonnegative:
            continue
        weight, argument = term / logs[0], logs[0].args[0]
        for other in expr.args:
            if other is not term and sp.expand(other + weight * argument) == 0:
                return weight, argument, term + other, expr - term - other
    return None


def _rewrite(expr: sp.Basic) -> sp.Basic:
    r""":math:`A\operatorname{log1p}(t) - A t \to` Piecewise((:math:`-A\,S_N(t)`, t < T), (the two terms as they
    were, True)), outside any Piecewise (a regime's textbook branch is never rewritten again)."""
    if isinstance(expr, sp.Piecewise) or not expr.args:
        return expr
    if isinstance(expr, sp.Add):
        found = _remainder_in(expr)
        if found is not None:
            weight, argument, textbook, rest = found
            series = -weight * log1p_remainder_series(argument)
            return sp.Piecewise((series, argument < REGIME), (textbook, True)) + _rewrite(rest)
    return expr.func(*(_rewrite(a) for a in expr.args))


LOG1P_REMAINDER_SERIES = Rule(
    "log1p_remainder_series",
    (identity("log1p_remainder_series, the series form: t - log(1 + t) = t u - (log(1 + u) - log(1 - u) - 2u) "
              "for u = t/(2 + t), t >= 0 (log(1 + t) = 2 atanh u, atanh u = (log(1 + u) - log(1 - u))/2)",
              _t - sp.log(1 + _t),
              _t * _t / (2 + _t) - (sp.log(1 + _t / (2 + _t)) - sp.log(1 - _t / (2 + _t)) - 2 * _t / (2 + _t)),
              scope=_T_SCOPE),
     identity("log1p_remainder_series, the truncated series: t u (1 - 2 u/(2 + t) sum_k u^(2k)/(2k + 3)) "
              "= t u - 2 (sum_{k=0}^{N} u^(2k+1)/(2k+1) - u) for u = t/(2 + t)",
              expand_primitives(log1p_remainder_series(_t)),
              _t**2 / (2 + _t) - 2 * (sp.atanh(_t / (2 + _t)) - atanh_remainder(_t / (2 + _t)) - _t / (2 + _t)),
              scope=_T_SCOPE),
     derivative(f"log1p_remainder_series, truncation bound: d/du (u^{2 * TERMS + 3}/({2 * TERMS + 3} (1 - u^2)) "
                f"- R_N(u)) = 2 u^{2 * TERMS + 4}/({2 * TERMS + 3} (1 - u^2)^2) >= 0, "
                f"R_N(u) = atanh u - sum_(k=0)^{TERMS} u^(2k+1)/(2k+1)",
                truncation_bound(_u) - atanh_remainder(_u), _u,
                2 * _u ** (2 * TERMS + 4) / ((2 * TERMS + 3) * (1 - _u**2) ** 2), scope=_U_SCOPE),
     derivative(f"log1p_remainder_series, the remainder is nonnegative: d/du R_N(u) = u^{2 * TERMS + 2}/(1 - u^2) >= 0",
                atanh_remainder(_u), _u, _u ** (2 * TERMS + 2) / (1 - _u**2), scope=_U_SCOPE),
     inequality("log1p_remainder_series, the value's lower bound: t - log(1 + t) >= t^2/(2(1 + t)) for t >= 0",
                _t - sp.log(1 + _t), ">=", _t**2 / (2 * (1 + _t)), scope=_T_SCOPE)),
    _rewrite,
    _t - log1p(_t),
    approximation=Approximation(f"relative error <= {float(relative_bound()):.1e} < 2^-54 for t < {REGIME}, "
                                f"{TERMS} terms of the atanh series of t - log1p(t), the textbook form elsewhere",
                                float(relative_bound())),
)

SERIES: tuple[Rule, ...] = (LOG1P_REMAINDER_SERIES,)
