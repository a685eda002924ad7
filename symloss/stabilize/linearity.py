r"""Stability rules of affine targets and weights (label smoothing's :math:`t_k = (1 - \varepsilon)y_k + \varepsilon/K`
is one): a softmax entry minus an affine target as a weighted pair of differences, which never rounds
:math:`t` or :math:`1 - t`; and a class sum with an affine weight split by linearity, the constant weight
multiplying the mean of the entries, so that :math:`\varepsilon/K` is never formed (it underflows at a
subnormal :math:`\varepsilon`) and the sum of the entries is not formed either (it overflows).

==============================  ==============================================================
``softmax_minus_affine_target`` :math:`s - ((1 - b)y + bc) = (1 - b)(s - y) + b(s - c)` for a label entry y
                                and b, c free of the labels: the target :math:`t` and its complement
                                :math:`1 - t` are never rounded
``class_sum_of_affine_weight``  :math:`\sum_k (g_k + b/d) f_k = \sum_k g_k f_k + b \sum_k (f_k/d)` for b, d
                                free of k (not where g's coefficient and b have opposite signs)
==============================  ==============================================================
"""

from __future__ import annotations

import sympy as sp

from symloss.declare.loss import Claim
from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import CLASS_FUNCTIONS, K, a, b, claim, f, k, m, r, s, t, w, z
from symloss.stabilize.primitives import ClassAxisPrimitive, Softmax


def _affine_target_parts(add: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr] | None:
    r"""(s, y, b, c) of ``add`` = s − ((1 − b)y + bc): a softmax entry s, a label entry y (an Indexed entry)
    and a weight b and a constant c free of y's vector and of the class-axis primitives, with the other terms
    expanded (:math:`-y + \varepsilon y - \varepsilon/K` is :math:`y = y_i`, :math:`b = \varepsilon`,
    :math:`c = 1/K`)."""
    if not isinstance(add, sp.Add):
        return None
    entries = [term for term in add.args if isinstance(term, Softmax)]
    if len(entries) != 1:
        return None
    others = sp.expand(add - entries[0])
    for term in sp.Add.make_args(others):
        label = -term
        if not isinstance(label, sp.Indexed):
            continue
        weight = sp.expand(others - term).coeff(label)
        constant = sp.expand(others - term - weight * label)
        if weight == 0 or constant == 0 or (weight + constant).has(label.base, ClassAxisPrimitive):
            continue
        return entries[0], label, weight, sp.cancel(-constant / weight)
    return None


def _affine_target_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""s − ((1 − b)y + bc) → (1 − b)(s − y) + b(s − c): two differences that ``softmax_minus_target`` then
    computes without cancellation, weighted by 1 − b (exact for :math:`b \ge 1/2`) and b; the target and
    its complement 1 − t are never rounded."""

    def rewrite(add: sp.Add) -> sp.Expr:
        entry, label, weight, constant = _affine_target_parts(add)
        return (1 - weight) * (entry - label) + weight * (entry - constant)

    return expr.replace(lambda e: _affine_target_parts(e) is not None, rewrite)


def _affine_weight_parts(total: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    r"""(g(k)·f(k), c, f(k)) of ``total`` = Σ_k (g(k) + c)·f(k) with an affine weight: g(k) = a·y_k, an entry
    of a vector times a coefficient a free of k (not an expression such as 1 − p_k, whose complement a
    later rule computes), and a non-zero part c free of k, c and a not of known opposite signs:
    :math:`\sum_k (1 - y_k) f_k` is kept, whose weight is exact where :math:`y_k \ge 1/2` while
    :math:`\sum_k f_k - \sum_k y_k f_k` would cancel.  (Otherwise the split's error bound,
    :math:`\sum_k (|g_k| + |c|)|f_k|` ulp, is the bound of the rounded weight :math:`g_k + c`.)"""
    if not isinstance(total, sp.Sum) or len(total.limits) != 1:
        return None
    index = total.limits[0][0]
    for weight in sp.Mul.make_args(total.function):
        if not isinstance(weight, sp.Add):
            continue
        constant, varying = weight.as_independent(index, as_Add=True)
        coefficient, entry = varying.as_independent(index, as_Add=False)
        if constant != 0 and isinstance(entry, sp.Indexed) and not (coefficient * constant).is_negative:
            factor = total.function / weight
            return varying * factor, constant, factor
    return None


def _affine_weight_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""Σ_k (g(k) + b/d)·f(k) → Σ_k g(k)·f(k) + b·Σ_k f(k)/d: b/d is never formed (it underflows at a
    subnormal b), and the mean Σ_k f(k)/d of the entries does not overflow where their sum would (each
    f(k)/d kept whole, unevaluated, so that 1/d is not taken out of the sum again)."""

    def rewrite(total: sp.Sum) -> sp.Expr:
        varying, constant, factor = _affine_weight_parts(total)
        numerator, divisor = sp.fraction(sp.factor_terms(constant))
        return sp.Sum(varying, *total.limits) + numerator * sp.Sum(sp.UnevaluatedExpr(factor / divisor), *total.limits)

    return expr.replace(lambda e: _affine_weight_parts(e) is not None, rewrite)


def _affine_weight_claim(divisor: sp.Expr) -> Claim:
    r""":math:`\sum_k (a z_k + m/d) f_k = a \sum_k z_k f_k + m \sum_k f_k/d` for any two class functions z, f and
    the divisor d (w > 0 or −w: every non-zero divisor between them)."""
    return claim(f"class_sum_of_affine_weight: sum_k (a z_k + m/({divisor})) f_k"
                 f" = a sum_k z_k f_k + m sum_k (f_k/({divisor}))",
                 sp.Sum((a * z[k] + m / divisor) * f[k], (k, 1, K)),
                 a * sp.Sum(z[k] * f[k], (k, 1, K)) + m * sp.Sum(f[k] / divisor, (k, 1, K)), CLASS_FUNCTIONS)


LINEARITY: tuple[Rule, ...] = (
    Rule("softmax_minus_affine_target",
         (claim("softmax_minus_affine_target: s - ((1 - b) t + b r) = (1 - b)(s - t) + b (s - r)",
                s - ((1 - b) * t + b * r), (1 - b) * (s - t) + b * (s - r)),),
         _affine_target_rewrite,
         Softmax(z[k], k, K) - ((1 - m) * z[k] + m / K)),
    Rule("class_sum_of_affine_weight", (_affine_weight_claim(w), _affine_weight_claim(-w)), _affine_weight_rewrite),
)
