"""Stability rules of sums over the classes: a relative entropy as non-negative kl_div terms and a
compensated sum, and a sum less one of its terms summed over the other classes instead of cancelling."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import (
    POWERS_OF_A_PROBABILITY,
    VECTORS,
    K,
    P,
    Q,
    claim,
    j,
    k,
    m,
    n,
    s,
    t,
    w,
    x,
    z,
)
from symloss.stabilize.primitives import (
    CompensatedSum,
    OtherClassesSum,
    SumOthers,
    expand_primitives,
    kl_div,
)


def _term_of(summand: sp.Expr, bound: sp.Symbol, candidate: sp.Expr) -> sp.Symbol | None:
    """The index k with ``summand`` at k equal to ``candidate`` up to expansion (−(y − 1)p is (1 − y)p)."""
    for indexed in candidate.atoms(sp.Indexed):
        for found in indexed.indices:
            if isinstance(found, sp.Symbol) and sp.expand(summand.xreplace({bound: found}) - candidate) == 0:
                return found
    return None


def _other_classes_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""c · (Σ_k f(k) − f(i) + r) → OtherClassesSum(c, f(k), k, K, i) + c · r for a class index i.  A weight
    with a power :math:`b^n` (n ≥ 2) takes one b into the sum, :math:`b^{n-1}\,\mathrm{OtherClassesSum}(b, …)`:
    :math:`p_i^2` of a probability below :math:`10^{-154}` is subnormal before it meets a large sum, while
    :math:`p_i (p_i S)` passes through :math:`p_i S`, between :math:`S` and the result."""

    def split(mul: sp.Mul) -> tuple[sp.Expr, sp.Sum, sp.Symbol, sp.Expr] | None:
        for factor in mul.args:
            if not isinstance(factor, sp.Add):
                continue
            for total in (term for term in factor.args if isinstance(term, sp.Sum) and len(term.limits) == 1):
                k, low, _ = total.limits[0]
                own = [(t, i) for t in factor.args for i in t.free_symbols
                       if low == 1 and i.is_integer and i.is_positive and -t == total.function.xreplace({k: i})]
                if own:
                    return mul / factor, total, own[0][1], factor - total - own[0][0]
        return None

    def rewrite(mul: sp.Mul) -> sp.Expr:
        weight, total, i, rest = split(mul)
        k, _, count = total.limits[0]
        powers = [f for f in sp.Mul.make_args(weight) if f.is_Pow and f.exp.is_Integer and f.exp >= 2]
        inner = powers[0].base if powers else weight
        return weight / inner * OtherClassesSum(inner, total.function, k, count, i) + weight * rest

    return expr.replace(lambda e: isinstance(e, sp.Mul) and split(e) is not None, rewrite)


def _others_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""c Σ_{j=1}^{K} f(j) − c f(k) → c SumOthers(f(k), k, K) for two terms of one sum (the others kept)."""

    def parts(add: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
        if not isinstance(add, sp.Add):
            return None
        for scaled in add.args:
            scale, total = scaled.as_independent(sp.Sum, as_Add=False)
            if not isinstance(total, sp.Sum) or len(total.limits) != 1 or total.limits[0][1] != 1:
                continue
            j, _, count = total.limits[0]
            for term in add.args:
                k = _term_of(total.function, j, -term / scale) if term is not scaled else None
                if k is not None:
                    return add - scaled - term, scale * SumOthers(total.function.xreplace({j: k}), k, count)
        return None

    def rewrite(add: sp.Add) -> sp.Expr:
        rest, others = parts(add)
        return rest + others

    return expr.replace(lambda e: parts(e) is not None, rewrite)


def _relative_entropy_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""Σ_k p_k log(p_k/q_k) → Σ_k kl_div(p_k, q_k) + Σ_k (p_k − q_k), the last sum compensated."""
    p, q = sp.Wild("p"), sp.Wild("q")

    def parts(total: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
        if not isinstance(total, sp.Sum) or isinstance(total, CompensatedSum) or len(total.limits) != 1:
            return None
        found = total.function.match(p * sp.log(p / q))
        if found is None or total.function != found[p] * sp.log(found[p] / found[q]):
            return None
        return found[p], found[q]

    def rewrite(total: sp.Sum) -> sp.Expr:
        pk, qk = parts(total)
        return sp.Sum(kl_div(pk, qk), *total.limits) + CompensatedSum(pk - qk, *total.limits)

    return expr.replace(lambda e: parts(e) is not None, rewrite)


def _bennett_series_form(x: sp.Expr) -> sp.Expr:
    """(1 + s) log((1 + s)/(1 - s)) − 2s over 1 − s, s = x/(2 + x): Bennett's function in the variable
    of the atanh series log((1 + s)/(1 − s)) = 2(s + s³/3 + s⁵/5 + …)."""
    s = x / (2 + x)
    return ((1 + s) * sp.log((1 + s) / (1 - s)) - 2 * s) / (1 - s)


CLASS_SUMS: tuple[Rule, ...] = (
    Rule("relative_entropy_terms",
         (claim("relative_entropy_terms: p log(p/q) = (p log(p/q) - p + q) + (p - q), summed term by term",
                P * sp.log(P / Q), expand_primitives(kl_div(P, Q)) + (P - Q)),
          claim("relative_entropy_terms, kl_div: p log(p/q) - p + q = q h((p - q)/q), h(x) = (1 + x) log(1 + x) - x",
                expand_primitives(kl_div(P, Q)), Q * ((P / Q) * sp.log(P / Q) - (P - Q) / Q)),
          claim("relative_entropy_terms, Bennett's h in s = x/(2 + x): (1 + x) log(1 + x) - x = "
                "((1 + s) log((1 + s)/(1 - s)) - 2s)/(1 - s)", (1 + x) * sp.log(1 + x) - x,
                _bennett_series_form(x))),
         _relative_entropy_rewrite,
         sp.Sum(z[k] * sp.log(z[k] / m), (k, 1, K))),
    # before sum_over_the_others: a weighted sum over the other classes keeps its weight's zeros (0, not 0·inf)
    Rule("sum_over_other_classes",
         (claim("sum_over_other_classes: w (sum_k z_k - z_j) = w sum_k (1 - delta_kj) z_k",
                w * (sp.Sum(z[k], (k, 1, K)) - z[j]),
                w * sp.Sum((1 - sp.KroneckerDelta(k, j)) * z[k], (k, 1, K)), VECTORS),
          claim("sum_over_other_classes, one factor of the weight inside: (b^n w) S = b^(n-1) w ((b) S)",
                s**n * w * t, s**(n - 1) * w * (s * t), POWERS_OF_A_PROBABILITY)),
         _other_classes_rewrite),
    Rule("sum_over_the_others",
         (claim("sum_over_the_others: sum_j f_j - f_k = sum_{j<k} f_j + sum_{j>k} f_j",
                sp.Sum(sp.exp(z[j]), (j, 1, K)) - sp.exp(z[k]),
                sp.Sum(sp.exp(z[j]), (j, 1, k - 1)) + sp.Sum(sp.exp(z[j]), (j, k + 1, K)), VECTORS),),
         _others_rewrite),
)
