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

``expm1_remainder_series``: :math:`h(x) = \operatorname{expm1}(x) - x = \sum_{k \ge 2} x^k/k!`, found in a sum as
:math:`A\operatorname{expm1}(x) - A x` (what ``expm1`` and ``one_minus_exp`` leave of :math:`e^x - 1 - x`,
:math:`c + c x - c e^x` and the Gaussian KL term :math:`1 + \log\sigma^2 - e^{\log\sigma^2}`; the term A x
may be written out term by term).  Near 0, :math:`h(x) \approx x^2/2` is the difference of two numbers near x.
For :math:`|x| < T` (:data:`EXPM1_REGIME` = 1/2) it is replaced by :math:`\sum_{k=2}^{n} x^k/k!`
(:data:`EXPM1_TERMS` = n = 15, odd), in Horner form.  With :math:`R_n(x) = e^x - \sum_{k=0}^{n} x^k/k!` the
truncation error is :math:`R_n(x)`, and the prover proves, for :math:`x \ge 0` and :math:`y \ge 0`:
:math:`e^{-x}R_n(x) \ge 0`; the derivative of :math:`x^{n+1}/(n+1)! - e^{-x}R_n(x)` is
:math:`x^n(1 - e^{-x})/n! \ge 0` (that function vanishes at 0, so it is nonnegative by the mean value
theorem, cited, not proved here: :math:`R_n(x) \le e^x x^{n+1}/(n+1)!`); :math:`0 \le R_n(-y) \le
y^{n+1}/(n+1)!` (n odd); and the value's lower bounds :math:`h(x) \ge x^2/2`, :math:`h(-y) \ge y^2/2 - y^3/6`,
with :math:`e^{y} \le 1/(1 - y)` for :math:`y < 1`.  Hence in the regime the relative error of the truncated
series is at most :math:`2T^{n-1}/((n+1)!\,(1 - T))`, which for T = 1/2 and n = 15 is :math:`2^{-12}/16! <
2^{-54}` (n = 13 gives :math:`1.1 \cdot 10^{-14}`).  From :math:`|x| = 1/2` on the textbook difference is kept:
it loses at most a factor :math:`(|\operatorname{expm1}(x)| + |x|)/h(x) \le 8.4` to cancellation there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import sympy as sp

from symloss.declare.loss import derivative, identity, inequality
from symloss.declare.notation import NONNEGATIVE, UNIT_HALF_OPEN, Scope, var
from symloss.stabilize.engine import Approximation, Rewrite, Rule
from symloss.stabilize.primitives import expand_primitives, expm1, log1p, square_ratio

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


def _cancelling(terms: tuple[sp.Expr, ...], target: sp.Expr) -> tuple[sp.Expr, ...] | None:
    """Terms of ``terms`` that add up to ``target``: one term equal to it once expanded, or each term of its
    expansion literally; None where there are none."""
    for term in terms:
        if sp.expand(term - target) == 0:
            return (term,)
    remaining, found = list(terms), []
    for needed in sp.Add.make_args(sp.expand(target)):
        if needed not in remaining:
            return None
        remaining.remove(needed)
        found.append(needed)
    return tuple(found)


def _difference_in(expr: sp.Add, function: type[sp.Function],
                   applies: Callable[[sp.Expr], bool]) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr] | None:
    r"""(A, x, the terms, the rest) where ``expr`` is :math:`A f(x) - A x +` rest for f = ``function`` and an
    argument x that ``applies``."""
    for term in expr.args:
        calls = [f for f in sp.Mul.make_args(term) if isinstance(f, function)]
        if len(calls) != 1 or not applies(calls[0].args[0]):
            continue
        weight, argument = term / calls[0], calls[0].args[0]
        others = _cancelling(tuple(a for a in expr.args if a is not term), -weight * argument)
        if others is not None:
            textbook = sp.Add(term, *others)
            return weight, argument, textbook, expr - textbook
    return None


def _series_rewrite(function: type[sp.Function], applies: Callable[[sp.Expr], bool],
                    series: Callable[[sp.Expr], sp.Expr], regime: Callable[[sp.Expr], sp.Basic]) -> Rewrite:
    r""":math:`A f(x) - A x \to` Piecewise((:math:`A\,` ``series``\ (x), ``regime``\ (x)), (the terms as they
    were, True)), outside any Piecewise (a regime's textbook branch is never rewritten again); ``series``
    approximates :math:`f(x) - x`."""

    def rewrite(expr: sp.Basic) -> sp.Basic:
        if isinstance(expr, sp.Piecewise) or not expr.args:
            return expr
        if isinstance(expr, sp.Add):
            found = _difference_in(expr, function, applies)
            if found is not None:
                weight, argument, textbook, rest = found
                return sp.Piecewise((weight * series(argument), regime(argument)), (textbook, True)) + rewrite(rest)
        return expr.func(*(rewrite(a) for a in expr.args))

    return rewrite


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
    _series_rewrite(log1p, lambda t: bool(t.is_nonnegative), lambda t: -log1p_remainder_series(t),
                    lambda t: t < REGIME),
    _t - log1p(_t),
    approximation=Approximation(f"relative error <= {float(relative_bound()):.1e} < 2^-54 for t < {REGIME}, "
                                f"{TERMS} terms of the atanh series of t - log1p(t), the textbook form elsewhere",
                                float(relative_bound())),
)

EXPM1_TERMS = 15  # n: the Taylor polynomial of e^x to degree n, the terms x^2/2! ... x^n/n! of expm1(x) - x
EXPM1_REGIME = sp.Rational(1, 2)  # T: the series is used for |x| < T


def expm1_relative_bound(terms: int = EXPM1_TERMS, regime: sp.Rational = EXPM1_REGIME) -> Fraction:
    r"""The bound on the relative truncation error of :func:`expm1_remainder_series` for :math:`|x| < T`,
    :math:`2T^{n-1}/((n+1)!\,(1 - T))` for an odd n and :math:`T < 1`, exactly (see the module docstring)."""
    top = Fraction(int(regime.p), int(regime.q))
    if terms % 2 == 0 or not 0 < top < 1:
        raise ValueError("the bound is proved for an odd number of terms and a regime T < 1")
    return 2 * top ** (terms - 1) / (math.factorial(terms + 1) * (1 - top))


def exp_taylor(x: sp.Expr, terms: int) -> sp.Expr:
    r""":math:`P_n(x) = \sum_{k=0}^{n} x^k/k!`, the Taylor polynomial of :math:`e^x`."""
    return sp.Add(*(x**k / sp.factorial(k) for k in range(terms + 1)))


def exp_remainder(x: sp.Expr, terms: int = EXPM1_TERMS) -> sp.Expr:
    r""":math:`R_n(x) = e^x - P_n(x)`."""
    return sp.exp(x) - exp_taylor(x, terms)


def expm1_remainder_series(x: sp.Expr, terms: int = EXPM1_TERMS) -> sp.Expr:
    r""":math:`x^2(\tfrac1{2!} + x(\tfrac1{3!} + \dots + x\,\tfrac1{n!}))
    = \sum_{k=2}^{n} x^k/k! = P_n(x) - 1 - x`, in Horner form."""
    inner = sp.S.Zero
    for k in reversed(range(2, terms + 1)):
        inner = 1 / sp.factorial(k) + x * inner
    return x**2 * inner


_N = EXPM1_TERMS
_NEXT = sp.factorial(_N + 1)
EXPM1_REMAINDER_SERIES = Rule(
    "expm1_remainder_series",
    (identity(f"expm1_remainder_series, the truncated series: its Horner form = sum_(k=2)^{_N} x^k/k! "
              f"= P_{_N}(x) - 1 - x", expm1_remainder_series(_t), exp_taylor(_t, _N) - 1 - _t, scope=_T_SCOPE),
     inequality(f"expm1_remainder_series, the remainder for x >= 0 is nonnegative: e^-x R_{_N}(x) >= 0, "
                f"R_n(x) = e^x - sum_(k=0)^n x^k/k!", sp.exp(-_t) * exp_remainder(_t), ">=", 0, scope=_T_SCOPE),
     derivative(f"expm1_remainder_series, truncation bound for x >= 0: d/dx (x^{_N + 1}/{_N + 1}! - e^-x R_{_N}(x)) "
                f"= x^{_N}/{_N}! (1 - e^-x)", _t ** (_N + 1) / _NEXT - sp.exp(-_t) * exp_remainder(_t), _t,
                _t**_N / sp.factorial(_N) * (1 - sp.exp(-_t)), scope=_T_SCOPE),
     inequality("expm1_remainder_series, the sign of that derivative: 1 - e^-x >= 0 for x >= 0",
                1 - sp.exp(-_t), ">=", 0, scope=_T_SCOPE),
     inequality(f"expm1_remainder_series, the remainder for x = -y <= 0 is nonnegative: e^y R_{_N}(-y) >= 0",
                sp.exp(_t) * exp_remainder(-_t), ">=", 0, scope=_T_SCOPE),
     inequality(f"expm1_remainder_series, truncation bound for x = -y <= 0: R_{_N}(-y) <= y^{_N + 1}/{_N + 1}!",
                sp.exp(_t) * (_t ** (_N + 1) / _NEXT - exp_remainder(-_t)), ">=", 0, scope=_T_SCOPE),
     inequality("expm1_remainder_series, the value's lower bound for x >= 0: e^x - 1 - x >= x^2/2 (e^-x R_2(x) >= 0)",
                sp.exp(-_t) * exp_remainder(_t, 2), ">=", 0, scope=_T_SCOPE),
     inequality("expm1_remainder_series, the value's lower bound for x = -y <= 0: e^-y - 1 + y >= y^2/2 - y^3/6 "
                "(e^y R_3(-y) >= 0)", sp.exp(_t) * exp_remainder(-_t, 3), ">=", 0, scope=_T_SCOPE),
     inequality("expm1_remainder_series, e^y <= 1/(1 - y) for 0 <= y < 1: e^-y >= 1 - y (e^y R_1(-y) >= 0)",
                sp.exp(_t) * exp_remainder(-_t, 1), ">=", 0, scope=_T_SCOPE)),
    _series_rewrite(expm1, lambda x: True, expm1_remainder_series, lambda x: sp.Abs(x) < EXPM1_REGIME),
    expm1(_t) - _t,
    approximation=Approximation(f"relative error <= {float(expm1_relative_bound()):.1e} < 2^-54 for "
                                f"|x| < {EXPM1_REGIME}, the terms x^2/2! ... x^{_N}/{_N}! of expm1(x) - x, the "
                                "textbook form elsewhere", float(expm1_relative_bound())),
)

SERIES: tuple[Rule, ...] = (LOG1P_REMAINDER_SERIES, EXPM1_REMAINDER_SERIES)
