r"""Stability rules of margins over the classes: a largest entry less a class-invariant shifted inside
the max, and a hinge sum divided before it is summed.

* ``max_minus_class_invariant``: :math:`\max_k f(k) - c = \max_k \big((g(k) - c) + h(k)\big)` for a
  :math:`c` free of the class index, :math:`f = g + h`.  The textbook form rounds :math:`\max_k f(k)`
  and :math:`c` separately and subtracts them: at logits of :math:`10^{16}` the Crammer–Singer hinge
  :math:`\max_k (1 - y_k + z_k) - \sum_j y_j z_j` has lost the 1 before the subtraction (its truth 0,
  the textbook kernel −2).  Inside the max, :math:`g(k) - c` is formed first, from the terms
  :math:`g` of :math:`f` that read a signed entry (a logit, a score) — the terms of the size of
  :math:`c` — and :math:`h` (a label's term, a constant) is added after it: at the labelled class of a
  one-hot label :math:`z_c - \sum_j y_j z_j` is exactly 0, and :math:`1 - y_c` exactly 0.
  Only the terms :math:`c` that read a class vector the max reads are moved in (a reduction of the same
  entries, the one that cancels the max).
* ``divided_before_summing``: :math:`\frac1d \sum_k w_k \max(0, \sum_i a_i(k)) =
  \sum_k w_k \max(0, \sum_i a_i(k)/d)` for :math:`d > 0`.  A margin :math:`m - z_c + z_k` overflows
  at :math:`m = 1.8\cdot10^{308}`, :math:`z \approx 10^{307}` although the mean over the K classes is
  finite; divided term by term before it is added, every partial sum is at most the (finite) result.
  Each :math:`a_i/d` costs one rounding more (none where :math:`d` is a power of two).

Neither names a loss.
"""

from __future__ import annotations

import sympy as sp

from symloss.declare.likelihood import ClassMax
from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import VECTORS, K, P, a, b, claim, k, m, r, t, w, z


def _signed_entry(term: sp.Expr) -> bool:
    """Whether ``term`` reads an entry whose sign is free (a logit, a score: its base not nonnegative)."""
    return any(not e.base.label.is_nonnegative for e in term.atoms(sp.Indexed))


def _max_minus_invariant_parts(add: sp.Basic) -> tuple[ClassMax, sp.Expr, sp.Expr] | None:
    """(the max, the class-invariant terms c moved in, the other terms) of a sum ``max_k f(k) + c + rest``."""
    if not isinstance(add, sp.Add):
        return None
    for largest in (term for term in add.args if isinstance(term, ClassMax)):
        index = largest.limits[0][0]
        bases = {e.base for e in largest.function.atoms(sp.Indexed)}
        moved = [term for term in add.args if term is not largest and index not in term.free_symbols
                 and not isinstance(term, ClassMax) and any(e.base in bases for e in term.atoms(sp.Indexed))]
        if moved:
            return largest, sp.Add(*moved), add - largest - sp.Add(*moved)
    return None


def _max_minus_invariant_rewrite(expr: sp.Expr) -> sp.Expr:
    r""":math:`\max_k f(k) + c + r \to \max_k((g(k) + c) + h(k)) + r`, :math:`g + c` kept as one term
    (an unevaluated sum, printed in parentheses) so that it is rounded before :math:`h` is added."""

    def rewrite(add: sp.Add) -> sp.Expr:
        largest, moved, rest = _max_minus_invariant_parts(add)
        terms = sp.Add.make_args(largest.function)
        signed = sp.Add(*(term for term in terms if _signed_entry(term)))
        if signed == 0:
            return sp.Add(type(largest)(largest.function + moved, *largest.limits), rest)
        other = largest.function - signed
        return sp.Add(type(largest)(sp.UnevaluatedExpr(signed + moved) + other, *largest.limits), rest)

    return expr.replace(lambda e: _max_minus_invariant_parts(e) is not None, rewrite)


def _divided_parts(mul: sp.Basic) -> tuple[sp.Expr, sp.Sum] | None:
    """(the divisor d, the sum) of ``d⁻¹ · Σ_k w_k max(0, a(k))`` with a positive d and a sum of terms a."""
    if not isinstance(mul, sp.Mul) or len(mul.args) != 2:
        return None
    divisor = next((1 / f for f in mul.args if f.is_Pow and f.exp == -1 and f.base.is_positive), None)
    total = next((f for f in mul.args if isinstance(f, sp.Sum) and len(f.limits) == 1), None)
    if divisor is None or total is None:
        return None
    hinges = [f for f in sp.Mul.make_args(total.function)
              if isinstance(f, sp.Max) and len(f.args) == 2 and 0 in f.args and isinstance(_margin(f), sp.Add)]
    return (divisor, total) if len(hinges) == 1 else None


def _margin(hinge: sp.Max) -> sp.Expr:
    """The argument a of max(0, a)."""
    return next(arg for arg in hinge.args if arg != 0)


def _divided_rewrite(expr: sp.Expr) -> sp.Expr:
    r""":math:`d^{-1} \sum_k w_k \max(0, \sum_i a_i(k)) \to \sum_k w_k \max(0, \sum_i a_i(k)/d)`, each
    :math:`a_i/d` kept whole (unevaluated) so that common subexpression elimination does not take
    :math:`1/d` out of the sum again."""

    def divide(hinge: sp.Basic, divisor: sp.Expr) -> sp.Basic:
        if not (isinstance(hinge, sp.Max) and 0 in hinge.args):
            return hinge
        return sp.Max(0, sp.Add(*(sp.UnevaluatedExpr(term / divisor) for term in sp.Add.make_args(_margin(hinge)))))

    def rewrite(mul: sp.Mul) -> sp.Expr:
        divisor, total = _divided_parts(mul)
        summand = sp.Mul(*(divide(f, divisor) for f in sp.Mul.make_args(total.function)))
        return sp.Sum(summand, *total.limits)

    return expr.replace(lambda e: _divided_parts(e) is not None, rewrite)


CLASS_MARGINS: tuple[Rule, ...] = (
    Rule("max_minus_class_invariant",
         (claim("max_minus_class_invariant: max(a, b) - t = max(a - t, b - t) (a max over K classes is a "
                "max of maxes)", sp.Max(a, b) - t, sp.Max(a - t, b - t)),
          claim("max_minus_class_invariant, three classes: max(a, b, r) - t = max(a - t, b - t, r - t)",
                sp.Max(a, b, r) - t, sp.Max(a - t, b - t, r - t))),
         _max_minus_invariant_rewrite,
         ClassMax(1 + z[k], (k, 1, K)) - sp.Sum(w * z[k], (k, 1, K))),
    Rule("divided_before_summing",
         (claim("divided_before_summing: max(0, a)/P = max(0, a/P) for P > 0", sp.Max(0, a) / P, sp.Max(0, a / P)),
          claim("divided_before_summing, term by term: (a + b + r)/P = a/P + b/P + r/P",
                (a + b + r) / P, a / P + b / P + r / P),
          claim("divided_before_summing, into a class sum: (sum_k z_k)/w = sum_k (z_k/w) for w > 0",
                sp.Sum(z[k], (k, 1, K)) / w, sp.Sum(z[k] / w, (k, 1, K)), VECTORS)),
         _divided_rewrite,
         sp.Sum(z[k] * sp.Max(0, m + z[k]), (k, 1, K)) / w),
)
