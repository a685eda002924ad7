r"""Stability rules of exponentials whose textbook form overflows although the result does not
(Blanchard, Higham and Higham 2021 for the shifted log-sum-exp): the log of a positive constant plus
an exponential as a shifted log-sum-exp, and a power of an exponential over a power of a positive
constant plus that exponential with numerator and denominator divided by the larger of 1 and that
exponential.  None names a loss; "constant" means any expression SymPy knows is positive that holds no
exponential (a number, or a positive hyper-parameter such as a dispersion).

SymPy merges a product of exponentials of multiples of one term by itself
(:math:`e^{z} e^{-2z} \to e^{-z}`), not of unrelated exponents (:math:`e^{x} e^{y}` stays); these rules
take the overflow out of the sums and quotients that an exponential meets."""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from symloss.stabilize.engine import Rewrite, Rule
from symloss.stabilize.identities import C, a, claim, t, u
from symloss.stabilize.primitives import expand_primitives, log1p


def _top_down(matches: Callable[[sp.Basic], bool], rewrite: Callable[[sp.Basic], sp.Basic], *,
              factors_alone: bool = True) -> Rewrite:
    """A rewrite of the outermost subexpressions that match (a product is seen before its factors);
    without ``factors_alone`` a factor of a product that does not match is not matched by itself either
    (a quotient's denominator is rewritten with its numerator or not at all)."""

    def walk(expr: sp.Basic, in_product: bool = False) -> sp.Basic:
        if (factors_alone or not in_product) and matches(expr):
            return rewrite(expr)
        if not expr.args:
            return expr
        args = tuple(walk(arg, isinstance(expr, sp.Mul)) for arg in expr.args)
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

# --------------------------------------------------------- e^{m a} / (c + e^a)^n without an overflow


def _exp_quotient(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr, int, int, sp.Expr] | None:
    """(c, a, m, n, rest) where ``expr`` is rest · e^{m a} / (c + e^a)^n for integers 0 <= m <= n, n >= 1,
    and rest holds no other exponential (nor a primitive of one, such as exp_minus)."""
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
        if not any(expand_primitives(f).has(sp.exp) for f in others):  # one left would overflow alone
            return c, a_, 0, n, sp.Mul(*others)
    return None


def _shifted_quotient(c: sp.Expr, a_: sp.Expr, m: int, n: int, rest: sp.Expr) -> sp.Expr:
    r""":math:`e^{ma}/(c + e^a)^n = e^{ma - nM}/(c\,e^{-M} + e^{a - M})^n`, :math:`M = \max(a, 0)`:
    numerator and denominator divided by :math:`e^{nM}`, so that no exponential of a positive argument
    is taken (:math:`a - M = \min(a, 0)` exactly in floating point, the denominator in
    :math:`[\min(c, 1), c + 1]`) and no :math:`\log c` is rounded into an exponent."""
    top = sp.Max(a_, 0)
    return rest * sp.exp(m * a_ - n * top) / (c * sp.exp(-top) + sp.exp(a_ - top)) ** n


EXP_OVER_CONSTANT_PLUS_EXP = Rule(
    "exp_over_constant_plus_exp",
    tuple(claim(f"exp_over_constant_plus_exp, m = {m}, n = 1, a = {side}u: "
                f"e^(m a)/(C + e^a) = e^(m a - M)/(C e^(-M) + e^(a - M)), M = max(a, 0)",
                sp.exp(m * sign * u) / (C + sp.exp(sign * u)), _shifted_quotient(C, sign * u, m, 1, sp.S.One))
          for m in (0, 1) for sign, side in ((1, ""), (-1, "-"))),
    _top_down(lambda e: _exp_quotient(e) is not None, lambda e: _shifted_quotient(*_exp_quotient(e)),
              factors_alone=False),
    t * sp.exp(2 * a) / (C + sp.exp(a)) ** 3,
)

EXPONENTIALS: tuple[Rule, ...] = (LOG_OF_CONSTANT_PLUS_EXP, EXP_OVER_CONSTANT_PLUS_EXP)
