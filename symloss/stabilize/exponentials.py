r"""Stability rules of exponentials whose textbook form overflows although the result does not
(Blanchard, Higham and Higham 2021 for the shifted log-sum-exp): the log of a positive constant plus
an exponential as a shifted log-sum-exp, a power of an exponential over a power of a positive constant
plus that exponential as sigmoids, and an exponential distributed over a sum of exponentials, each
product merged into one exponent.  None names a loss; "constant" means any expression SymPy knows is
positive that holds no exponential (a number, or a positive hyper-parameter such as a dispersion).

SymPy merges a product of exponentials into one exponent by itself
(:math:`y e^a e^b \to y e^{a + b}`), so no rule is needed for that; these rules bring the
exponentials of a sum or a quotient together so that it can.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from symloss.declare.functions import sigmoid
from symloss.stabilize.engine import Rewrite, Rule
from symloss.stabilize.identities import C, a, b, claim, t, u
from symloss.stabilize.primitives import log1p


def _top_down(matches: Callable[[sp.Basic], bool], rewrite: Callable[[sp.Basic], sp.Basic]) -> Rewrite:
    """A rewrite of the outermost subexpressions that match (a product is seen before its factors,
    so a quotient's numerator and denominator are rewritten together, never the denominator alone)."""

    def walk(expr: sp.Basic) -> sp.Basic:
        if matches(expr):
            return rewrite(expr)
        if not expr.args:
            return expr
        args = tuple(walk(arg) for arg in expr.args)
        return expr if args == expr.args else expr.func(*args)

    return walk


def _constant_plus_exp(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    """(c, a) where ``expr`` is the sum c + e^a of one exponential and a positive rest c free of
    exponentials."""
    if not isinstance(expr, sp.Add):
        return None
    exps = [term for term in expr.args if isinstance(term, sp.exp)]
    if len(exps) != 1:
        return None
    rest = expr - exps[0]
    if rest.has(sp.exp) or not rest.is_positive:
        return None
    return rest, exps[0].args[0]


# ----------------------------------------------------------------------- log(c + e^a) as log-sum-exp


def _shifted_log_sum_exp(c: sp.Expr, a_: sp.Expr) -> sp.Expr:
    r""":math:`\log(c + e^a) = \max(a, \log c) + \operatorname{log1p}(e^{-|a - \log c|})`: the larger
    exponent taken out exactly, the rest in :math:`(0, \log 2]`."""
    return sp.Max(a_, sp.log(c)) + log1p(sp.exp(-sp.Abs(a_ - sp.log(c))))


def _log_sum(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    """(c, a) where ``expr`` is log(c + e^a) or log1p(e^a) (c = 1), unless a <= log c is known (the
    sum cannot overflow: the rewrite's own log1p(e^{-|a - log c|}) is such a term)."""
    parts = None
    if isinstance(expr, sp.log):
        parts = _constant_plus_exp(expr.args[0])
    elif isinstance(expr, log1p) and isinstance(expr.args[0], sp.exp):
        parts = sp.S.One, expr.args[0].args[0]
    if parts is None or (parts[1] - sp.log(parts[0])).is_nonpositive:
        return None
    return parts


LOG_OF_CONSTANT_PLUS_EXP = Rule(
    "log_of_constant_plus_exp",
    (claim("log_of_constant_plus_exp for a = log C + u, u >= 0: log(C + e^a) = a + log(1 + e^(-u))",
           sp.log(C + sp.exp(sp.log(C) + u)), sp.log(C) + u + sp.log(1 + sp.exp(-u))),
     claim("log_of_constant_plus_exp for a = log C - u, u >= 0: log(C + e^a) = log C + log(1 + e^(-u))",
           sp.log(C + sp.exp(sp.log(C) - u)), sp.log(C) + sp.log(1 + sp.exp(-u)))),
    _top_down(lambda e: _log_sum(e) is not None, lambda e: _shifted_log_sum_exp(*_log_sum(e))),
    sp.log(C + sp.exp(a)),
)

# ------------------------------------------------------------------- e^{m a} / (c + e^a)^n as sigmoids


def _sigmoid_quotient(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr, int, int, sp.Expr] | None:
    """(c, a, m, n, rest) where ``expr`` is rest · e^{m a} / (c + e^a)^n for integers 0 <= m <= n, n >= 1."""
    if not isinstance(expr, (sp.Mul, sp.Pow)):
        return None
    factors = list(sp.Mul.make_args(expr))
    for denominator in factors:
        if not (isinstance(denominator, sp.Pow) and denominator.exp.is_Integer and denominator.exp < 0):
            continue
        parts = _constant_plus_exp(denominator.base)
        if parts is None:
            continue
        c, a_ = parts
        n = int(-denominator.exp)
        others = [f for f in factors if f is not denominator]
        for numerator in others:
            if isinstance(numerator, sp.exp):
                m = numerator.args[0] / a_
                if m.is_Integer and 0 < m <= n:
                    return c, a_, int(m), n, sp.Mul(*(f for f in others if f is not numerator))
        return c, a_, 0, n, sp.Mul(*others)
    return None


def _as_sigmoids(c: sp.Expr, a_: sp.Expr, m: int, n: int, rest: sp.Expr) -> sp.Expr:
    r""":math:`e^{ma}/(c + e^a)^n = \sigma(a - \log c)^m\,(\sigma(\log c - a)/c)^{n-m}`: two sigmoids,
    neither of which overflows."""
    return rest * sigmoid(a_ - sp.log(c)) ** m * (sigmoid(sp.log(c) - a_) / c) ** (n - m)


EXP_OVER_CONSTANT_PLUS_EXP = Rule(
    "exp_over_constant_plus_exp",
    (claim("exp_over_constant_plus_exp, m = 1: e^a/(C + e^a) = sigma(a - log C)",
           sp.exp(a) / (C + sp.exp(a)), sigmoid(a - sp.log(C))),
     claim("exp_over_constant_plus_exp, m = 0: 1/(C + e^a) = sigma(log C - a)/C",
           1 / (C + sp.exp(a)), sigmoid(sp.log(C) - a) / C)),
    _top_down(lambda e: _sigmoid_quotient(e) is not None, lambda e: _as_sigmoids(*_sigmoid_quotient(e))),
    t * sp.exp(2 * a) / (C + sp.exp(a)) ** 3,
)

# ------------------------------------------------------------- e^b (s + e^a) as s e^b + e^{a + b}


def _is_monomial(term: sp.Expr) -> bool:
    """A product of numbers, symbols and exponentials (no sum inside)."""
    return all(f.is_Number or f.is_Symbol or isinstance(f, sp.exp) for f in sp.Mul.make_args(term))


def _distributable(expr: sp.Basic) -> tuple[sp.Expr, sp.Add, sp.Expr] | None:
    """(e^b, sum, rest) where ``expr`` is rest · e^b · sum, the sum of monomials with an exponential."""
    if not isinstance(expr, sp.Mul):
        return None
    factors = sp.Mul.make_args(expr)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    sums = [f for f in factors if isinstance(f, sp.Add) and all(_is_monomial(term) for term in f.args)
            and any(isinstance(g, sp.exp) for term in f.args for g in sp.Mul.make_args(term))]
    if len(exps) != 1 or not sums:
        return None
    rest = sp.Mul(*(f for f in factors if f is not exps[0] and f is not sums[0]))
    return exps[0], sums[0], rest


def _distribute(e_b: sp.Expr, total: sp.Add, rest: sp.Expr) -> sp.Expr:
    """rest · Σ_i (term_i · e^b), each term's exponentials merged with e^b into one."""
    return rest * sp.Add(*(sp.powsimp(term * e_b, combine="exp") for term in total.args))


EXP_TIMES_SUM_OF_EXPS = Rule(
    "exp_times_sum_of_exps",
    (claim("exp_times_sum_of_exps: e^b (t + e^a) = t e^b + e^(a + b)",
           sp.exp(b) * (t + sp.exp(a)), t * sp.exp(b) + sp.exp(a + b)),),
    _top_down(lambda e: _distributable(e) is not None, lambda e: _distribute(*_distributable(e))),
    sp.exp(-2 * a) * (t - 2 * sp.exp(a)),
)

EXPONENTIALS: tuple[Rule, ...] = (LOG_OF_CONSTANT_PLUS_EXP, EXP_OVER_CONSTANT_PLUS_EXP, EXP_TIMES_SUM_OF_EXPS)
