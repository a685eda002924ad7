"""Stability rules of softmax and log-sum-exp (Blanchard, Higham and Higham, "Accurately computing the
log-sum-exp and softmax functions", 2021): the max-shifted softmax, log-softmax and log-sum-exp, the
complement 1 − softmax summed from the other classes, softmax minus a target, p log p/(1 − p), and
log p + (1 − p) as a series where 1 − p is small."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import (
    VECTORS,
    K,
    claim,
    j,
    k,
    m,
    s,
    t,
    x,
    z,
)
from symloss.stabilize.primitives import (
    ClassAxisPrimitive,
    LogSoftmax,
    LogSoftmaxRemainder,
    LogSumExp,
    Softmax,
    SoftmaxComplement,
    SoftmaxXLogXRatio,
    expand_primitives,
)

_normalizer = sp.Sum(sp.exp(z[j]), (j, 1, K))
_shifted = sp.Sum(sp.exp(z[j] - m), (j, 1, K))
_p_k = sp.exp(z[k]) / _normalizer


def _entry_of(summand: sp.Expr, bound: sp.Symbol, candidate: sp.Expr) -> sp.Symbol | None:
    """The index k with ``summand`` (in the bound index) equal to ``candidate`` at k, if any."""
    for indexed in candidate.atoms(sp.Indexed):
        for found in indexed.indices:
            if isinstance(found, sp.Symbol) and summand.xreplace({bound: found}) == candidate:
                return found
    return None


def _normalizer_parts(factor: sp.Expr) -> tuple[sp.Expr, sp.Symbol, sp.Expr, sp.Expr, int] | None:
    """``factor`` = (Σ_{j=1}^{K} e^{f(j)})^(-n): (f(j), j, K, low, n), else None."""
    if not (factor.is_Pow and factor.exp.is_Integer and factor.exp < 0 and isinstance(factor.base, sp.Sum)):
        return None
    total = factor.base
    if len(total.limits) != 1 or not isinstance(total.function, sp.exp):
        return None
    j, low, high = total.limits[0]
    return total.function.args[0], j, high, low, int(-factor.exp)


def _introduce_softmax(expr: sp.Expr) -> sp.Expr:
    r"""e^{n f(k)} · (Σ_j e^{f(j)})^{-n} → softmax(f)k^n inside every product."""

    def rewrite(mul: sp.Mul) -> sp.Expr:
        factors = list(mul.args)
        for position, factor in enumerate(factors):
            parts = _normalizer_parts(factor)
            if parts is None or parts[3] != 1:
                continue
            summand, j, count, _, n = parts
            for other, candidate in enumerate(factors):
                if other == position or not isinstance(candidate, sp.exp):
                    continue
                k = _entry_of(summand, j, candidate.args[0] / n)
                if k is None:
                    continue
                rest = [f for p, f in enumerate(factors) if p not in (position, other)]
                return sp.Mul(*rest) * Softmax(candidate.args[0] / n, k, count) ** n
        return mul

    return expr.replace(lambda e: isinstance(e, sp.Mul), rewrite)


def _distribute_normalizer(expr: sp.Expr) -> sp.Expr:
    r"""(Σ_j e^{f(j)} − e^{f(k)} …) · (Σ_j e^{f(j)})^{-1} → 1 − e^{f(k)}/Σ … : a sum divided by a
    normalizer it contains is split, so that the softmax entries inside it become visible."""

    def rewrite(mul: sp.Mul) -> sp.Expr:
        factors = list(mul.args)
        for position, factor in enumerate(factors):
            parts = _normalizer_parts(factor)
            if parts is None:
                continue
            for other, candidate in enumerate(factors):
                if other != position and isinstance(candidate, sp.Add) and factor.base in candidate.args:
                    rest = [f for p, f in enumerate(factors) if p not in (position, other)]
                    split = sp.Add(*(term / factor.base for term in candidate.args))
                    return sp.Mul(*rest, split, factor.base ** (factor.exp + 1))
        return mul

    return expr.replace(lambda e: isinstance(e, sp.Mul), rewrite)


def _softmax_rewrite(expr: sp.Expr) -> sp.Expr:
    return _introduce_softmax(_distribute_normalizer(expr))


def _log_softmax_rewrite(expr: sp.Expr) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, sp.log) and isinstance(e.args[0], Softmax),
                        lambda e: LogSoftmax(*e.args[0].args))


def _logsumexp_rewrite(expr: sp.Expr) -> sp.Expr:
    def is_log_of_sum(e: sp.Basic) -> bool:
        return (isinstance(e, sp.log) and isinstance(e.args[0], sp.Sum) and len(e.args[0].limits) == 1
                and isinstance(e.args[0].function, sp.exp) and e.args[0].limits[0][1] == 1)

    def rewrite(e: sp.log) -> sp.Expr:
        total = e.args[0]
        k, _, count = total.limits[0]
        return LogSumExp(total.function.args[0], k, count)

    return expr.replace(is_log_of_sum, rewrite)


def _complement_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""1 − softmax(e)k → SoftmaxComplement(e)k, also as two terms of a longer sum (the others kept)."""

    def is_complement(e: sp.Basic) -> bool:
        return (isinstance(e, sp.Add) and sp.S.One in e.args
                and any(isinstance(-t, Softmax) for t in e.args if t != 1))

    def rewrite(e: sp.Add) -> sp.Expr:
        term = next(t for t in e.args if t != 1 and isinstance(-t, Softmax))
        return e - 1 - term + SoftmaxComplement(*(-term).args)

    return expr.replace(is_complement, rewrite)


def _minus_target_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""s + r → s(1 + r) + r(1 − s) for a softmax entry s and the rest r of a sum."""

    def is_candidate(e: sp.Basic) -> bool:
        softmaxes = [t for t in e.args if isinstance(t, Softmax)] if isinstance(e, sp.Add) else []
        rest = e - softmaxes[0] if len(softmaxes) == 1 else None
        return rest is not None and rest != 0 and not rest.has(ClassAxisPrimitive) and rest != -1

    def rewrite(e: sp.Add) -> sp.Expr:
        s = next(t for t in e.args if isinstance(t, Softmax))
        rest = e - s
        return s * (1 + rest) + rest * SoftmaxComplement(*s.args)

    return expr.replace(is_candidate, rewrite)


def _xlogx_ratio_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""softmax_k · log softmax_k · (1 − softmax_k)^{-1} → SoftmaxXLogXRatio inside every product."""

    def parts(mul: sp.Mul) -> tuple[sp.Expr, ...] | None:
        factors = mul.args
        for f in factors:
            if isinstance(f, Softmax) and {LogSoftmax(*f.args), SoftmaxComplement(*f.args) ** -1} <= set(factors):
                return f.args
        return None

    def rewrite(mul: sp.Mul) -> sp.Expr:
        args = parts(mul)
        used = (Softmax(*args), LogSoftmax(*args), SoftmaxComplement(*args) ** -1)
        return sp.Mul(*(f for f in mul.args if f not in used)) * SoftmaxXLogXRatio(*args)

    return expr.replace(lambda e: isinstance(e, sp.Mul) and parts(e) is not None, rewrite)


def _remainder_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""LogSoftmax(e)k + SoftmaxComplement(e)k (or + 1 − Softmax(e)k) → LogSoftmaxRemainder(e)k,
    the other terms of the sum kept."""

    def parts(add: sp.Basic) -> tuple[sp.Expr, tuple[sp.Expr, ...]] | None:
        if not isinstance(add, sp.Add):
            return None
        for log_term in add.args:
            if not isinstance(log_term, LogSoftmax):
                continue
            complement = SoftmaxComplement(*log_term.args)
            if complement in add.args:
                return add - log_term - complement, log_term.args
            if sp.S.One in add.args and -Softmax(*log_term.args) in add.args:
                return add - log_term - 1 + Softmax(*log_term.args), log_term.args
        return None

    def rewrite(add: sp.Add) -> sp.Expr:
        rest, args = parts(add)
        return rest + LogSoftmaxRemainder(*args)

    return expr.replace(lambda e: parts(e) is not None, rewrite)


SOFTMAX: tuple[Rule, ...] = (
    Rule("softmax_max_shifted",
         (claim("softmax_max_shifted", sp.exp(z[k]) / _normalizer, sp.exp(z[k] - m) / _shifted, VECTORS),),
         _softmax_rewrite),
    Rule("log_softmax_max_shifted",
         (claim("log_softmax_max_shifted", sp.log(sp.exp(z[k]) / _normalizer), z[k] - m - sp.log(_shifted),
                VECTORS),),
         _log_softmax_rewrite, sp.log(Softmax(z[k], k, K))),
    Rule("logsumexp_max_shifted",
         (claim("logsumexp_max_shifted", sp.log(_normalizer), m + sp.log(_shifted), VECTORS),),
         _logsumexp_rewrite),
    Rule("softmax_complement",
         (claim("softmax_complement: 1 - softmax(z)k = sum over j != k of exp(z_j) / sum_j exp(z_j)",
                1 - sp.exp(z[k]) / _normalizer,
                sp.Sum((1 - sp.KroneckerDelta(j, k)) * sp.exp(z[j]), (j, 1, K)) / _normalizer, VECTORS),),
         _complement_rewrite, 1 - Softmax(z[k], k, K)),
    Rule("log_softmax_remainder",
         (claim("log_softmax_remainder: log softmax(z)k + 1 - softmax(z)k is the textbook of the primitive",
                sp.log(sp.exp(z[k]) / _normalizer) + 1 - sp.exp(z[k]) / _normalizer,
                expand_primitives(LogSoftmaxRemainder(z[k], k, K)), VECTORS),
          claim("log_softmax_remainder, its series: log(1 + x) = log((1 + u)/(1 - u)) for u = x/(2 + x)",
                sp.log(1 + x), sp.log((1 + x / (2 + x)) / (1 - x / (2 + x)))),
          claim("log_softmax_remainder, its leading term: 2u - x = -x^2/(2 + x) for u = x/(2 + x)",
                2 * x / (2 + x) - x, -(x**2) / (2 + x))),
         _remainder_rewrite, LogSoftmax(z[k], k, K) + 1 - Softmax(z[k], k, K)),
    Rule("softmax_minus_target",
         (claim("softmax_minus_target: s - t = s(1 - t) - t(1 - s)", s - t, s * (1 - t) - t * (1 - s)),),
         _minus_target_rewrite, Softmax(z[k], k, K) - t),
    Rule("softmax_xlogx_ratio",
         (claim("softmax_xlogx_ratio: p log p / (1 - p) = x (z_k - m - log sum_j x_j) / (sum_j x_j - x), "
                "p = softmax(z)k, x_j = exp(z_j - m)",
                _p_k * sp.log(_p_k) / (1 - _p_k),
                sp.exp(z[k] - m) * (z[k] - m - sp.log(_shifted)) / (_shifted - sp.exp(z[k] - m)),
                VECTORS),),
         _xlogx_ratio_rewrite,
         Softmax(z[k], k, K) * LogSoftmax(z[k], k, K) / SoftmaxComplement(z[k], k, K)),
)
